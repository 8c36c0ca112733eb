// Service management in Chromium against the real desk of desk.ts: the
// team, business-hours and SLA policy admin pages; a ticket opened by
// phone for someone without a device, its SLA columns in the queue and
// its SLA panel; a warning escalated to the assignee as a notice; problem
// records; the KPI dashboard in English, Korean and Japanese. axe-core
// on every page.
//
// Everything here works on teams, policies and tickets of its own (the
// policies apply to this spec's teams only), so the other specs' queues
// are as before.
import AxeBuilder from '@axe-core/playwright';
import { expect, test, type Page } from '@playwright/test';
import { desk } from './desk';

test.describe.configure({ mode: 'serial' });

async function login(page: Page, next: string, email = desk().email): Promise<void> {
  await page.goto(desk().url + next);
  await page.getByLabel('E-mail').fill(email);
  await page.getByLabel('Password').fill(desk().password);
  await page.getByRole('button', { name: 'Log in' }).click();
  await expect(page.getByTestId('who')).toHaveText(email);
}

async function axe(page: Page, what: string): Promise<void> {
  const r = await new AxeBuilder({ page }).analyze();
  const bad = r.violations.filter((v) => v.impact === 'serious' || v.impact === 'critical');
  expect(bad.map((v) => `${what}: ${v.id} ${v.nodes.map((n) => n.target.join(' ')).join(', ')}`)).toEqual([]);
}

async function api<T>(method: string, path: string, body?: unknown): Promise<T> {
  const r = await fetch(desk().url + path, {
    method,
    headers: { authorization: `Bearer ${desk().token}`, 'content-type': 'application/json' },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  if (!r.ok) throw new Error(`${method} ${path}: ${r.status} ${await r.text()}`);
  return (await r.json()) as T;
}

const ICS = ['BEGIN:VCALENDAR', 'VERSION:2.0', 'BEGIN:VEVENT', 'DTSTART;VALUE=DATE:20270101', 'DTEND;VALUE=DATE:20270102', 'SUMMARY:New Year', 'END:VEVENT', 'END:VCALENDAR', ''].join('\r\n');

test('teams, business hours and SLA policies are set up in the admin pages', async ({ page }) => {
  await login(page, '/admin/teams');
  await page.getByTestId('team-add').click();
  await page.getByTestId('team-name').fill('Service desk');
  await page.getByTestId('team-mode').selectOption('round_robin');
  await page.getByTestId('team-form').getByLabel(desk().email).check();
  await page.getByTestId('team-form').getByLabel(desk().tech).check();
  await page.getByTestId('team-save').click();
  const row = page.getByTestId('team-Service desk');
  await expect(row).toContainText('Each member in turn');
  await expect(row).toContainText(desk().tech);
  await axe(page, 'teams');

  await page.getByTestId('admin-tab-calendars').click();
  await expect(page).toHaveURL(/\/admin\/calendars$/);
  await page.getByTestId('calendar-add').click();
  await page.getByTestId('calendar-name').fill('Office hours');
  await page.getByTestId('calendar-zone').fill('Europe/Berlin');
  // A malformed day is refused by name before anything is sent.
  await page.getByTestId('calendar-mon').fill('9-17');
  await page.getByTestId('calendar-save').click();
  await expect(page.getByRole('alert')).toContainText('Monday');
  await page.getByTestId('calendar-mon').fill('08:00-12:00, 13:00-17:00');
  await page.getByTestId('calendar-holidays').fill('2026-12-25');
  await page.getByTestId('calendar-ics').setInputFiles({ name: 'holidays.ics', mimeType: 'text/calendar', buffer: Buffer.from(ICS) });
  await expect(page.getByTestId('calendar-holidays')).toHaveValue('2026-12-25\n2027-01-01');
  await page.getByTestId('calendar-save').click();
  const calendars = page.getByTestId('calendars');
  await expect(calendars).toContainText('Office hours');
  await expect(calendars).toContainText('08:00-12:00, 13:00-17:00');
  await expect(calendars.locator('tbody tr', { hasText: 'Office hours' }).locator('td.num')).toHaveText('2');
  await axe(page, 'calendars');

  await page.getByTestId('admin-tab-sla').click();
  await page.getByTestId('policy-add').click();
  await page.getByTestId('policy-name').fill('Service desk hours');
  await page.getByTestId('policy-first').fill('soon');
  await page.getByTestId('policy-save').click();
  await expect(page.getByRole('alert')).toContainText('hours');
  await page.getByTestId('policy-first').fill('4');
  await page.getByTestId('policy-resolution').fill('16');
  await page.getByTestId('policy-calendar').selectOption({ label: 'Office hours' });
  await page.getByTestId('policy-form').getByRole('group', { name: 'Team' }).getByLabel('Service desk').check();
  await page.getByTestId('policy-add-escalation').click();
  await page.getByTestId('policy-save').click();
  const policy = page.getByTestId('policy-Service desk hours');
  await expect(policy).toContainText('Service desk');
  await expect(policy).toContainText('Office hours');
  await expect(policy).toContainText('4h');
  await axe(page, 'SLA policies');

  // What the desk keeps is what the form said.
  const stored = (await api<{ name: string; first_response_minutes: number; resolution_minutes: number; escalations: { on: string; notify: boolean }[] }[]>('GET', '/api/v1/sla/policies')).find(
    (p) => p.name === 'Service desk hours',
  );
  expect(stored).toMatchObject({ first_response_minutes: 240, resolution_minutes: 960, escalations: [{ on: 'breach', notify: true }] });
});

test('a technician sees the teams read-only and marks themselves away', async ({ page }) => {
  await login(page, '/admin/teams', desk().tech);
  await expect(page.getByTestId('team-Service desk')).toBeVisible();
  await expect(page.getByTestId('team-add')).toHaveCount(0);
  await page.getByTestId('away').check();
  await expect(page.getByTestId('team-Service desk')).toContainText('away');
  await page.getByTestId('away').uncheck();
  await expect(page.getByTestId('team-Service desk')).not.toContainText('away');
});

test('a ticket opened by phone for someone without a computer, with its SLA in the queue and on the ticket', async ({ page }) => {
  await login(page, '/');
  await page.getByTestId('new-ticket').click();
  await expect(page).toHaveURL(/\/tickets\/new$/);
  await page.getByTestId('new-submit').click();
  await expect(page.getByText('Who is asking? Their name is needed.')).toBeVisible();
  await expect(page.getByText('A subject is needed.')).toBeVisible();
  await axe(page, 'new ticket');
  await page.getByTestId('new-channel').selectOption('phone');
  await page.getByTestId('new-requester').fill('Ana Example');
  await page.getByTestId('new-email').fill('ana@example.com');
  await page.getByTestId('new-type').selectOption('service_request');
  await page.getByTestId('new-category').selectOption('account');
  await page.getByTestId('new-team').selectOption({ label: 'Service desk' });
  await page.getByTestId('new-subject').fill('Forgot my password');
  await page.getByTestId('new-description').fill('Locked out after the holidays; calling from a colleague’s phone.');
  await page.getByTestId('new-submit').click();

  await expect(page).toHaveURL(/\/tickets\/\d+$/);
  const id = Number(/\/tickets\/(\d+)$/.exec(page.url())?.[1]);
  await expect(page.getByRole('heading', { level: 1 })).toContainText('Forgot my password');
  await expect(page.getByTestId('ticket-channel')).toHaveText('Phone');
  await expect(page.getByTestId('ticket-requester')).toContainText('Ana Example');
  await expect(page.getByTestId('ctl-type')).toHaveValue('service_request');
  const panel = page.getByTestId('sla-panel');
  await expect(panel).toContainText('Policy: Service desk hours');
  await expect(panel).toContainText('Business hours: Office hours');
  await expect(panel.getByTestId('sla-clock-first_response')).toContainText('4h');
  await expect(panel.getByTestId('sla-clock-resolution')).toContainText('16h');
  await expect(panel.getByTestId('sla-clock-first_response').locator('.badge')).toHaveText(/On track|Paused/);
  await axe(page, 'ticket with SLA');

  // The queue: its SLA and due columns, the SLA filter, due-soonest first.
  await page.goto(desk().url + '/?sort=due');
  const row = page.locator(`tr[data-id="${id}"]`);
  await expect(row.getByTestId('sla-cell')).toHaveText(/On track|Paused/);
  await expect(row.getByTestId('due-cell')).not.toHaveText('');
  await expect(row).toContainText('Service desk');
  await expect(row).toContainText('Service request');
  await expect(page.getByTestId('queue').locator('tbody tr').first()).toHaveAttribute('data-id', String(id));
  await page.getByTestId('filter-sla').selectOption('breached');
  await expect(page).toHaveURL(/sla=breached/);
  await expect(row).toHaveCount(0);
  await page.getByTestId('filter-sla').selectOption('');
  await page.getByTestId('filter-team').selectOption({ label: 'Service desk' });
  await expect(page.getByTestId('queue').locator('tbody tr')).toHaveCount(1);
  await axe(page, 'queue with SLA');

  // Her other tickets are one click away.
  await page.goto(desk().url + '/');
  await row.getByRole('link', { name: 'Ana Example' }).click();
  await expect(page).toHaveURL(/requester=ana%40example\.com/);
  await expect(page.getByTestId('queue').locator('tbody tr')).toHaveCount(1);
  await expect(page.getByTestId('requester-clear')).toBeVisible();
});

test('an SLA warning reaches the assignee as a notice, and the queue shows it at risk', async ({ page }) => {
  const team = await api<{ id: number }>('POST', '/api/v1/teams', { name: 'Escalations', auto_assign: 'round_robin', members: [desk().email] });
  // One minute to a first response, a warning at the first counting second.
  await api('POST', '/api/v1/sla/policies', {
    name: 'Escalation test',
    conditions: { teams: [team.id] },
    first_response_minutes: 1,
    warn_percent: 1,
    escalations: [{ on: 'warning', notify: true }],
  });
  await login(page, '/');
  await expect(page.getByTestId('queue')).toBeVisible();
  const created = await api<{ ticket: { id: number } }>('POST', '/api/v1/tickets', {
    channel: 'walk_in',
    requester_name: 'Bo Visitor',
    subject: 'Badge reader refuses my card',
    team_id: team.id,
  });
  const id = created.ticket.id;
  const notice = page.getByTestId('notice').filter({ hasText: `#${id}` });
  await expect(notice).toContainText(`SLA at risk on #${id}`, { timeout: 20_000 });
  await expect(notice).toContainText('Badge reader refuses my card');
  await expect(page.locator(`tr[data-id="${id}"]`).getByTestId('sla-cell')).toHaveText('At risk');
  await page.getByTestId('view-views.sla_risk').click();
  await expect(page.locator(`tr[data-id="${id}"]`)).toBeVisible();
  await notice.getByRole('link').click();
  await expect(page).toHaveURL(new RegExp(`/tickets/${id}$`));
  await expect(page.getByTestId('sla-clock-first_response').locator('.badge')).toHaveText(/At risk|Breached/);
  await expect(page.getByTestId('notice').filter({ hasText: `#${id}` })).toHaveCount(0);
});

test('a problem links incidents and resolves them with it', async ({ page }) => {
  const incident = await api<{ ticket: { id: number } }>('POST', '/api/v1/tickets', {
    channel: 'email',
    requester_name: 'Cy Printer',
    requester_email: 'cy@example.com',
    subject: 'Cannot print to the 2nd floor printer',
  });
  const id = incident.ticket.id;
  await login(page, '/problems');
  await axe(page, 'problems');
  await page.getByTestId('problem-subject').fill('Print server drops jobs after the update');
  await page.getByTestId('problem-new').getByRole('button').click();
  await expect(page).toHaveURL(/\/problems\/\d+$/);
  const problemUrl = page.url();
  const pid = Number(/\/problems\/(\d+)$/.exec(problemUrl)?.[1]);
  await page.getByTestId('problem-root-cause').fill('The spooler update leaks handles.');
  await page.getByTestId('problem-workaround').fill('Restart the spooler.');
  await page.getByTestId('problem-known-error').check();
  await page.getByTestId('problem-edit').getByRole('button', { name: 'Save' }).click();
  await expect(page.getByTestId('problem-notice')).toHaveText('Saved.');
  await axe(page, 'problem');

  await page.goto(`${desk().url}/tickets/${id}`);
  await page.getByTestId('ctl-problem').selectOption({ label: `#${pid} Print server drops jobs after the update` });
  await expect(page.getByTestId('ticket-problem')).toBeVisible();
  await page.getByTestId('ticket-problem').click();
  await expect(page).toHaveURL(problemUrl);
  await expect(page.getByTestId('problem-tickets')).toContainText('Cannot print to the 2nd floor printer');
  await page.getByTestId('resolve-resolve').check();
  await page.getByTestId('problem-message').fill('The print server was fixed; printing works again.');
  await page.getByTestId('problem-resolve-submit').click();
  await expect(page.getByTestId('problem-notice')).toContainText('1 incidents resolved');
  await expect(page.getByTestId('problem-status')).toHaveText('Resolved');
  const after = await api<{ ticket: { status: string }; comments: { body: string }[] }>('GET', `/api/v1/tickets/${id}`);
  expect(after.ticket.status).toBe('resolved');
  expect(after.comments.map((c) => c.body)).toContain('The print server was fixed; printing works again.');
});

test('the KPI dashboard: figures, charts, a split and CSV, in English, Korean and Japanese', async ({ page }) => {
  await login(page, '/reports');
  await expect(page.getByRole('heading', { level: 1 })).toHaveText('Help desk KPIs');
  const report = await api<{ total: { created: number; backlog: { total: number } } }>('GET', '/api/v1/reports/kpis');
  expect(report.total.created).toBeGreaterThanOrEqual(6);
  await expect(page.getByTestId('kpi-created').locator('.value')).toHaveText(String(report.total.created));
  await expect(page.getByTestId('kpi-backlog').locator('.value')).toHaveText(String(report.total.backlog.total));
  await expect(page.getByTestId('kpi-chart-volume')).toHaveAttribute('data-drawn', 'true');
  await expect(page.getByTestId('kpi-sla-clocks')).toContainText('First response');
  await axe(page, 'KPIs');

  await page.getByTestId('kpi-group').selectOption('team');
  await expect(page).toHaveURL(/group_by=team/);
  await expect(page.getByTestId('kpi-groups')).toContainText('Service desk');
  await page.getByTestId('kpi-preset-7').click();
  const url = new URL(page.url());
  expect(url.searchParams.get('group_by')).toBe('team');
  const from = url.searchParams.get('from') ?? '';
  const to = url.searchParams.get('to') ?? '';
  expect((Date.parse(to) - Date.parse(from)) / 86_400_000).toBe(7);
  await page.reload();
  await expect(page.getByTestId('kpi-from')).toHaveValue(from);
  await expect(page.getByTestId('kpi-groups')).toContainText('Service desk');

  const href = await page.getByTestId('kpi-csv').getAttribute('href');
  expect(href).toContain('format=csv');
  const csv = await page.evaluate(async (h) => (await fetch(h!)).text(), href);
  expect(csv.split('\n')[0]).toContain('created');
  expect(csv).toContain('Service desk');

  for (const [lang, title, created] of [
    ['ko', '헬프데스크 KPI', '생성'],
    ['ja', 'ヘルプデスク KPI', '作成'],
  ] as const) {
    await page.getByTestId('language').selectOption(lang);
    await expect(page.getByRole('heading', { level: 1 })).toHaveText(title);
    await expect(page.getByTestId('kpi-created').locator('.label')).toHaveText(created);
    const tiles = await page.getByTestId('kpi-tiles').innerText();
    expect(tiles).not.toMatch(/Created|Resolved|Satisfaction|compliance/);
    await expect(page.getByTestId('kpi-chart-volume')).toHaveAttribute('data-drawn', 'true');
    await axe(page, `KPIs ${lang}`);
  }
  await page.getByTestId('language').selectOption('en');
});
