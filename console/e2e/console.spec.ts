// The console in Chromium against a real desk whose tickets came from the
// real agent: login, the queue and its URL, keyboard, live updates, the
// conversation, a refused stale change, bulk assignment, the diagnostics
// viewer, languages, the dark theme, and axe-core on every page.
import AxeBuilder from '@axe-core/playwright';
import { hostname } from 'node:os';
import { expect, test, type Page } from '@playwright/test';
import { agent, desk } from './desk';

test.describe.configure({ mode: 'serial' });

async function login(page: Page, next = '/', email = desk().email): Promise<void> {
  const d = desk();
  await page.goto(d.url + next);
  await expect(page).toHaveURL(/\/login\?next=/);
  await page.getByLabel('E-mail').fill(email);
  await page.getByLabel('Password').fill(d.password);
  await page.getByRole('button', { name: 'Log in' }).click();
  await expect(page.getByTestId('who')).toHaveText(email);
}

async function axe(page: Page, what: string): Promise<void> {
  const r = await new AxeBuilder({ page }).analyze();
  const bad = r.violations.filter((v) => v.impact === 'serious' || v.impact === 'critical');
  expect(bad.map((v) => `${what}: ${v.id} ${v.nodes.map((n) => n.target.join(' ')).join(', ')}`)).toEqual([]);
}

async function api(method: string, path: string, body?: unknown, headers: Record<string, string> = {}): Promise<Response> {
  const d = desk();
  return fetch(d.url + path, {
    method,
    headers: { authorization: `Bearer ${d.token}`, 'content-type': 'application/json', ...headers },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
}

async function ticketId(subject: string): Promise<number> {
  const page = (await (await api('GET', `/api/v1/tickets?text=${encodeURIComponent(subject)}`)).json()) as { tickets: { id: number }[] };
  return page.tickets[0].id;
}

test('the desk serves the console with a strict policy', async () => {
  const r = await fetch(desk().url + '/tickets/1', { headers: { 'accept-encoding': 'gzip' } });
  expect(r.status).toBe(200);
  expect(r.headers.get('content-security-policy')).toContain("script-src 'self'");
  expect(r.headers.get('x-frame-options')).toBe('DENY');
  expect(r.headers.get('cache-control')).toBe('no-cache');
  const html = await r.text();
  const asset = /src="(\/assets\/[^"]+\.js)"/.exec(html)?.[1];
  expect(asset).toBeTruthy();
  expect(html).not.toMatch(/<script>(?!<\/script>)/);
  const a = await fetch(desk().url + asset!, { headers: { 'accept-encoding': 'gzip' } });
  expect(a.headers.get('cache-control')).toContain('immutable');
  expect((await fetch(desk().url + '/api/v1/nothing')).status).toBe(404);
});

test('login, the queue, filters in the URL and the keyboard', async ({ page }) => {
  await login(page);
  await expect(page).toHaveURL(desk().url + '/');
  const queue = page.getByTestId('queue');
  for (const t of desk().tickets) await expect(queue).toContainText(t.subject);
  await axe(page, 'queue');

  await page.getByTestId('filter-category').selectOption('printer');
  await expect(page).toHaveURL(/category=printer/);
  await expect(queue.locator('tbody tr')).toHaveCount(1);
  await page.reload();
  await expect(page.getByTestId('filter-category')).toHaveValue('printer');
  await expect(queue.locator('tbody tr')).toHaveCount(1);
  await expect(queue).toContainText('Printer on floor 3 jams');

  await page.goto(desk().url + '/?sort=oldest');
  await expect(queue.locator('tbody tr').first()).toContainText('Wi-Fi drops');
  await page.locator('body').press('j');
  await page.locator('body').press('j');
  await expect(queue.locator('tbody tr.cursor')).toContainText('Printer on floor 3 jams');
  await page.locator('body').press('Enter');
  await expect(page).toHaveURL(/\/tickets\/\d+$/);
  await expect(page.getByRole('heading', { level: 1 })).toContainText('Printer on floor 3 jams');
  await page.goBack();
  await page.locator('body').press('?');
  await expect(page.getByTestId('shortcuts')).toBeVisible();
  await page.keyboard.press('Escape');
  await page.locator('body').press('/');
  await expect(page.getByTestId('search')).toBeFocused();
});

test('a new ticket and an employee reply arrive live, keeping what is typed', async ({ page }) => {
  const d = desk();
  await login(page);
  await expect(page.getByTestId('queue')).toContainText(d.tickets[0].subject);
  await page.locator('#view-name').fill('Half-typed view name');
  await page.getByTestId('queue').locator('tbody tr').first().locator('input[type=checkbox]').check();
  agent(d, 'ticket', 'new', '--subject', 'Monitor flickers', '--description', 'Since the docking station changed.', '--category', 'hardware', '--no-diagnostics');
  await expect(page.getByTestId('queue')).toContainText('Monitor flickers');
  await expect(page.locator('#view-name')).toHaveValue('Half-typed view name');
  await expect(page.getByTestId('queue').locator('tbody tr[aria-selected=true]')).toHaveCount(1);

  const id = await ticketId(d.tickets[0].subject);
  await page.goto(`${d.url}/tickets/${id}`);
  await page.getByTestId('reply-body').fill('A draft that must survive');
  agent(d, 'ticket', 'reply', d.tickets[0].local, '--message', 'It happened again just now.');
  agent(d, 'sync');
  await expect(page.getByTestId('conversation')).toContainText('It happened again just now.');
  await expect(page.getByTestId('reply-body')).toHaveValue('A draft that must survive');
  await page.reload();
  await expect(page.getByTestId('reply-body')).toHaveValue('A draft that must survive');
});

test('a reply reaches the device and an internal note never does', async ({ page }) => {
  const d = desk();
  await login(page);
  const id = await ticketId(d.tickets[1].subject);
  await page.goto(`${d.url}/tickets/${id}`);
  await page.getByTestId('reply-body').fill('We are sending someone with a new roller.');
  await page.getByRole('button', { name: 'Send reply' }).click();
  await expect(page.getByTestId('conversation')).toContainText('We are sending someone with a new roller.');
  await page.getByLabel('Internal note', { exact: true }).check();
  await page.getByTestId('reply-body').fill('Roller part number 44-XZ, ask facilities.');
  await page.getByRole('button', { name: 'Add note' }).click();
  const note = page.getByTestId('conversation').locator('li[data-internal=true]');
  await expect(note).toContainText('Roller part number 44-XZ');
  await expect(note).toContainText('Internal note');
  await axe(page, 'ticket');

  agent(d, 'sync');
  const shown = agent(d, 'ticket', 'show', d.tickets[1].local);
  expect(shown).toContain('We are sending someone with a new roller.');
  expect(shown).not.toContain('44-XZ');
});

test('a stale change is refused and can be applied again', async ({ page }) => {
  const d = desk();
  // Another technician will change the ticket meanwhile; live updates are
  // held back so that the page still shows the old version.
  await page.route('**/api/v1/events*', (r) => r.abort());
  await login(page);
  const id = await ticketId(d.tickets[2].subject);
  await page.goto(`${d.url}/tickets/${id}`);
  await expect(page.getByTestId('ticket')).toBeVisible();
  const version = await page.getByTestId('ticket').getAttribute('data-version');
  const other = await fetch(`${d.url}/api/v1/tickets/${id}`, {
    method: 'PATCH',
    headers: { authorization: `Bearer ${d.techToken}`, 'content-type': 'application/json', 'if-match': `"${version}"` },
    body: JSON.stringify({ status: 'open' }),
  });
  expect(other.status).toBe(200);
  await page.getByTestId('ctl-tier').selectOption('2');
  await expect(page.getByTestId('conflict')).toContainText('Status');
  await expect(page.getByTestId('ticket-status')).toHaveText('Open');
  await page.getByRole('button', { name: 'Apply my change again' }).click();
  await expect(page.getByTestId('conflict')).toHaveCount(0);
  await expect(page.getByTestId('ctl-tier')).toHaveValue('2');
  const now = (await (await api('GET', `/api/v1/tickets/${id}`)).json()) as { tier: number; ticket: { status: string } };
  expect(now.tier).toBe(2);
  expect(now.ticket.status).toBe('open');
});

test('technicians see who else has the ticket open and who is typing', async ({ page, browser }) => {
  const d = desk();
  const id = await ticketId(d.tickets[2].subject);
  await login(page, `/tickets/${id}`);
  await expect(page.getByTestId('ticket')).toBeVisible();
  const other = await browser.newContext();
  const colleague = await other.newPage();
  await login(colleague, `/tickets/${id}`, d.tech);
  await expect(colleague.getByTestId('ticket')).toBeVisible();
  await expect(page.getByTestId('presence')).toContainText(`${d.tech} is looking at this ticket`);
  await colleague.getByTestId('reply-body').pressSequentially('On it');
  await expect(page.getByTestId('presence')).toContainText(`${d.tech} is typing`);
  await other.close();
});

test('bulk assignment reports each ticket', async ({ page }) => {
  await login(page);
  const rows = page.getByTestId('queue').locator('tbody tr');
  await expect(rows).toHaveCount(4);
  await rows.nth(0).locator('input[type=checkbox]').check();
  await rows.nth(1).locator('input[type=checkbox]').check();
  await page.getByTestId('bulk').getByRole('button', { name: 'Assign to me' }).click();
  await expect(page.getByTestId('bulk-result')).toHaveText('2 tickets changed.');
  await page.goto(desk().url + '/?assignee=me');
  await expect(page.getByTestId('queue').locator('tbody tr')).toHaveCount(2);
});

test('the diagnostics viewer shows what the agent sent', async ({ page }) => {
  const d = desk();
  await login(page);
  const id = await ticketId(d.tickets[0].subject);
  await page.goto(`${d.url}/tickets/${id}`);
  await page.getByRole('tab', { name: 'Diagnostics' }).click();
  const summary = page.getByTestId('diag-summary');
  await expect(summary).toContainText('This computer');
  await expect(summary).toContainText(hostname());
  await expect(page.getByTestId('diag-timeline')).toContainText('Ticket filed');
  await expect(page.getByTestId('diag-checks').locator('li').first()).toBeVisible();
  // A check's first result reads as such, never as a raw key.
  await expect(page.getByTestId('diag-checks')).not.toContainText('state.');
  await expect(page.getByTestId('chart-cpu')).toHaveAttribute('data-drawn', 'true');
  // Legends are words from the catalogs.
  await expect(page.locator('figure.chart', { has: page.getByTestId('chart-network') })).toContainText('received');
  await expect(page.getByTestId('chart-memory')).toHaveAttribute('data-drawn', 'true');
  await expect(page.getByTestId('diag-network')).toContainText('The desk from the device');
  await expect(page.getByTestId('diag-logs')).toBeVisible();
  await axe(page, 'diagnostics');

  // The ticket without a bundle says so instead of failing.
  const plain = await ticketId('Monitor flickers');
  await page.goto(`${d.url}/tickets/${plain}`);
  await page.getByRole('tab', { name: 'Diagnostics' }).click();
  await expect(page.getByTestId('diag-state')).toHaveAttribute('data-state', 'missing');
});

test('Korean and Japanese, and the dark theme', async ({ page }) => {
  await login(page);
  await page.getByTestId('language').selectOption('ko');
  await expect(page.getByRole('heading', { level: 1 })).toHaveText('티켓 대기열');
  await expect(page.locator('html')).toHaveAttribute('lang', 'ko');
  await page.reload();
  await expect(page.getByRole('heading', { level: 1 })).toHaveText('티켓 대기열');
  await page.getByTestId('language').selectOption('ja');
  await expect(page.getByRole('heading', { level: 1 })).toHaveText('チケットキュー');
  await expect(page.getByTestId('queue')).toContainText('新規');
  await axe(page, 'queue (ja)');

  await page.getByTestId('theme').selectOption('dark');
  await expect(page.locator('html')).toHaveAttribute('data-theme', 'dark');
  const bg = await page.evaluate(() => getComputedStyle(document.body).backgroundColor);
  expect(bg).toBe('rgb(17, 21, 28)');
  await axe(page, 'queue (dark)');
  await page.getByTestId('language').selectOption('en');
  await page.getByTestId('theme').selectOption('system');
});

test('the login page passes axe and refuses a wrong password', async ({ page }) => {
  await page.goto(desk().url + '/login');
  await axe(page, 'login');
  await page.getByLabel('E-mail').fill(desk().email);
  await page.getByLabel('Password').fill('not the password');
  await page.getByRole('button', { name: 'Log in' }).click();
  await expect(page.getByRole('alert')).toHaveText('Wrong e-mail or password.');
});
