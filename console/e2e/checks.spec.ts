// A ticket a failing health check opened, in Chromium against the real
// desk of desk.ts: what the desk verifies on the device, a technician's
// fix watched with the employee's rating held back, and the check failing
// again reopening the ticket live, with the desk's own note worded by the
// console (in English and Japanese).
import AxeBuilder from '@axe-core/playwright';
import { expect, test, type Page } from '@playwright/test';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { desk } from './desk';

async function login(page: Page, next: string): Promise<void> {
  await page.goto(desk().url + next);
  await page.getByLabel('E-mail').fill(desk().tech);
  await page.getByLabel('Password').fill(desk().password);
  await page.getByRole('button', { name: 'Log in' }).click();
  await expect(page.getByTestId('who')).toHaveText(desk().tech);
}

function result(state: string): Record<string, unknown> {
  const now = new Date().toISOString();
  return {
    check_id: 'e2e-disk', state, alert_state: state, summary: `disk is ${state}`, timestamp: now,
    duration_ms: 1, consecutive_failures: 0, last_state_change: now,
  };
}

test('a check\'s ticket: verified on the device, watched after the fix, reopened by a relapse', async ({ page }) => {
  const d = desk();
  const device = readFileSync(join(d.dir, 'agent', 'device-token'), 'utf8').trim();
  const checkin = async (state: string): Promise<void> => {
    const r = await fetch(`${d.url}/api/v1/agent/checkin`, {
      method: 'POST',
      headers: { authorization: `Bearer ${device}`, 'content-type': 'application/json' },
      body: JSON.stringify({ check_results: [result(state)] }),
    });
    expect(r.status).toBe(200);
  };
  await checkin('critical');
  const form = new FormData();
  form.append('ticket', new Blob([JSON.stringify({
    subject: 'Disk almost full', category: 'hardware', urgency: 'high',
    check: { check_id: 'e2e-disk', failing_since: new Date(Date.now() - 1_800_000).toISOString(), resolve_after_secs: 3600 },
  })], { type: 'application/json' }));
  const filed = await fetch(`${d.url}/api/v1/agent/tickets`, {
    method: 'POST',
    headers: { authorization: `Bearer ${device}`, 'idempotency-key': 'e2e-check-ticket' },
    body: form,
  });
  expect(filed.status).toBe(201);
  const { id } = (await filed.json()) as { id: number };

  await login(page, `/tickets/${id}`);
  const verification = page.getByTestId('verification');
  await expect(verification.getByRole('heading')).toHaveText('Verified on the device');
  await expect(verification).toContainText('Opened by the failing health check “e2e-disk”.');
  await expect(verification).toContainText('once the check has been OK for 1 hour.');
  await expect(verification).toContainText('e2e-disk');

  // The technician fixes it: the fix is watched and the rating waits.
  await page.getByTestId('ctl-status').selectOption('resolved');
  await expect(page.getByTestId('ticket-status')).toHaveText('Resolved');
  await expect(verification).toContainText('The fix is watched until');
  await expect(verification).toContainText('The employee is asked to rate it from');
  const rating = await fetch(`${d.url}/api/v1/agent/tickets/${id}/rating`, {
    method: 'POST',
    headers: { authorization: `Bearer ${device}`, 'content-type': 'application/json' },
    body: JSON.stringify({ score: 5 }),
  });
  expect(rating.status).toBe(409);
  expect(((await rating.json()) as { error: { code: string } }).error.code).toBe('cannot_rate');
  const a = await new AxeBuilder({ page }).analyze();
  expect(a.violations.filter((v) => v.impact === 'serious' || v.impact === 'critical').map((v) => v.id)).toEqual([]);

  // The check recovers, then fails again: the open page hears the
  // reopening and shows the desk's note.
  await checkin('ok');
  await checkin('critical');
  await expect(page.getByTestId('ticket-status')).toHaveText('Open');
  const note = page.locator('[data-note="relapsed"]');
  await expect(note).toContainText('Reopened: “e2e-disk” failed again on the device at');
  await expect(note).toContainText('Desk (automatic)');
  // The audit trail names the desk, not a technician, for the reopening.
  await page.getByRole('tab', { name: 'Audit trail' }).click();
  await expect(page.getByTestId('audit')).toContainText('Desk (automatic)');
  await expect(page.getByTestId('audit')).toContainText('relapse');
  await page.getByRole('tab', { name: 'Conversation' }).click();

  // The same note in Japanese.
  await page.getByTestId('language').selectOption('ja');
  await expect(note).toContainText('再オープン：チケットの解決後、デバイスで「e2e-disk」が');
});
