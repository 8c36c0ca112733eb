// The knowledge base in Chromium against the real desk of desk.ts: an
// article written in Japanese with the desk's sanitized preview, found by
// a word inside a longer one, drafted from a ticket, inserted into a
// reply, and two technicians saving one article at once; what the tray
// showed before a ticket and the deflection figures; axe on the pages.
import AxeBuilder from '@axe-core/playwright';
import { expect, test, type Page } from '@playwright/test';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { desk } from './desk';

test.describe.configure({ mode: 'serial' });

async function login(page: Page, next: string, email = desk().tech): Promise<void> {
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

let articleUrl = '';

test('an article written in Japanese, previewed sanitized, found by part of a word', async ({ page }) => {
  await login(page, '/kb');
  await page.getByTestId('kb-new').click();
  await expect(page).toHaveURL(/\/kb\/new$/);
  await page.getByTestId('kb-lang-ja').click();
  await page.getByTestId('kb-title').fill('プリンターが印刷しない');
  await page.getByTestId('kb-body').fill('**用紙トレイ**を確認してください。\n\n<script>window.pwned = true</script><img src=x onerror="window.pwned = true">');
  const preview = page.getByTestId('kb-preview');
  await expect(preview.locator('strong')).toHaveText('用紙トレイ');
  await expect(preview.locator('script')).toHaveCount(0);
  expect(await preview.innerHTML()).not.toContain('onerror');
  expect(await page.evaluate(() => (window as unknown as { pwned?: boolean }).pwned)).toBeUndefined();
  await page.getByTestId('kb-state').selectOption('published');
  await page.getByTestId('kb-save').click();
  await expect(page).toHaveURL(/\/kb\/\d+$/);
  articleUrl = page.url();
  await axe(page, 'article');

  await page.goto(`${desk().url}/kb`);
  await page.getByTestId('kb-search').fill('プリンター');
  await expect(page).toHaveURL(/q=/);
  await expect(page.getByTestId('kb-hits')).toContainText('プリンターが印刷しない');
  await page.reload();
  await expect(page.getByTestId('kb-search')).toHaveValue('プリンター');
  await expect(page.getByTestId('kb-hits')).toContainText('用紙トレイを確認してください。');
  await axe(page, 'knowledge base');
  await page.getByTestId('kb-search').fill('존재하지않는말');
  await expect(page.getByTestId('kb-hits')).toContainText('No articles found.');
});

test('an article drafted from a ticket, and one inserted into a reply', async ({ page }) => {
  const r = await fetch(`${desk().url}/api/v1/tickets?text=${encodeURIComponent('Printer on floor 3 jams')}`, {
    headers: { authorization: `Bearer ${desk().token}` },
  });
  const id = ((await r.json()) as { tickets: { id: number }[] }).tickets[0].id;
  await login(page, `/tickets/${id}`);
  await page.getByTestId('article-from-ticket').click();
  await expect(page).toHaveURL(new RegExp(`/kb/new\\?ticket=${id}$`));
  await expect(page.getByTestId('kb-title')).toHaveValue('Printer on floor 3 jams');
  await expect(page.getByTestId('kb-body')).toHaveValue(/## Problem\n\nReported in the browser test: Printer on floor 3 jams\./);

  await page.goto(`${desk().url}/tickets/${id}`);
  await page.getByTestId('kb-insert').fill('プリンター');
  await page.getByTestId('kb-insert-hits').getByRole('button', { name: 'プリンターが印刷しない' }).click();
  await expect(page.getByTestId('reply-body')).toHaveValue(/^プリンターが印刷しない\n\n\*\*用紙トレイ\*\*を確認してください。/);
  // Linked to the ticket, listed there, and unlinked.
  await page.getByTestId('kb-insert').fill('プリンター');
  await page.getByTestId('kb-insert-hits').getByTestId('kb-link').click();
  const linked = page.getByTestId('linked-articles');
  await expect(linked.getByRole('link', { name: 'プリンターが印刷しない' })).toBeVisible();
  await linked.getByRole('button', { name: 'Unlink プリンターが印刷しない' }).click();
  await expect(linked).toHaveCount(0);
});

test('two technicians save one article at once: the second is told, nothing is lost silently', async ({ browser }) => {
  const a = await browser.newPage();
  const b = await browser.newPage();
  await login(a, new URL(articleUrl).pathname);
  await login(b, new URL(articleUrl).pathname, desk().email);
  for (const p of [a, b]) {
    await p.getByTestId('kb-lang-ja').click();
    await expect(p.getByTestId('kb-title')).toHaveValue('プリンターが印刷しない');
  }
  await a.getByTestId('kb-title').fill('プリンターが印刷しない（A4）');
  await a.getByTestId('kb-save').click();
  await expect(a.getByTestId('kb-notice')).toHaveText('Saved.');
  await b.getByTestId('kb-title').fill('プリンターが印刷しない（B5）');
  await b.getByTestId('kb-save').click();
  await expect(b.getByTestId('kb-conflict')).toBeVisible();
  await b.getByTestId('kb-conflict').getByRole('button').click();
  await expect(b.getByTestId('kb-title')).toHaveValue('プリンターが印刷しない（A4）');
  await a.close();
  await b.close();
});

test('what the tray showed before a ticket, and the articles that solved reports', async ({ page }) => {
  const d = desk();
  const device = readFileSync(join(d.dir, 'agent', 'device-token'), 'utf8').trim();
  const article = Number(articleUrl.split('/').pop());
  const started = new Date(Date.now() - 60_000).toISOString();
  // A report "This solved it" ended, as the tray sends it.
  const solved = await fetch(`${d.url}/api/v1/agent/reports`, {
    method: 'POST',
    headers: { authorization: `Bearer ${device}`, 'content-type': 'application/json' },
    body: JSON.stringify({ id: 'e2e-report-solved', started_at: started, shown: [article], solved_by: article }),
  });
  expect(solved.status).toBe(204);
  // One that became a ticket after the article was shown.
  const form = new FormData();
  form.append('ticket', new Blob([JSON.stringify({
    subject: 'Printer still jams after the article', category: 'printer', urgency: 'medium',
    report: { id: 'e2e-report-ticket', started_at: started, shown: [article] },
  })], { type: 'application/json' }));
  const filed = await fetch(`${d.url}/api/v1/agent/tickets`, {
    method: 'POST',
    headers: { authorization: `Bearer ${device}`, 'idempotency-key': 'e2e-kb-ticket' },
    body: form,
  });
  expect(filed.status).toBe(201);
  const ticket = (await filed.json()) as { id: number };

  await login(page, `/tickets/${ticket.id}`);
  const shown = page.getByTestId('shown-articles');
  await expect(shown.getByRole('heading')).toHaveText('Shown in the tray before filing');
  await expect(shown.getByRole('link', { name: 'プリンターが印刷しない' })).toBeVisible();

  await page.goto(`${d.url}/reports`);
  await expect(page.getByTestId('kpi-deflection')).toContainText('50%');
  await expect(page.getByTestId('kpi-deflection')).toContainText('Solved by an article (2 reports)');
  const useful = page.getByTestId('kpi-useful-articles');
  await expect(useful.getByRole('row').nth(1)).toContainText('プリンターが印刷しない');
  await expect(useful.getByRole('row').nth(1).getByRole('cell')).toHaveText(['1', '2']);
  await axe(page, 'KPIs with self-service');
});
