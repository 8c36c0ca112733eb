// Screenshots of the console for the README and docs/screenshots: the
// queue, a ticket and its diagnostics viewer, the device list, a device's
// page, the fleet overview, the software catalogue and the administration
// pages (policy editor, users, audit log), in English, Korean
// and Japanese, against the same real desk and agents as the browser tests.
import { expect, test } from '@playwright/test';
import { readFileSync } from 'node:fs';
import { desk } from '../e2e/desk';

const POLICY = readFileSync(new URL('../../crates/deskside-policy/src/default-policy.toml', import.meta.url), 'utf8');

const OUT = '../docs/screenshots';

test('console screenshots in en, ko and ja', async ({ page }) => {
  const d = desk();
  await page.setViewportSize({ width: 1400, height: 860 });
  await page.goto(d.url + '/login');
  await page.getByLabel('E-mail').fill(d.email);
  await page.getByLabel('Password').fill(d.password);
  await page.getByRole('button', { name: 'Log in' }).click();
  await expect(page.getByTestId('who')).toBeVisible();
  const r = await fetch(`${d.url}/api/v1/tickets?text=${encodeURIComponent(d.tickets[0].subject)}`, { headers: { authorization: `Bearer ${d.token}` } });
  const id = ((await r.json()) as { tickets: { id: number }[] }).tickets[0].id;
  await fetch(`${d.url}/api/v1/tickets/${id}/comments`, {
    method: 'POST',
    headers: { authorization: `Bearer ${d.token}`, 'content-type': 'application/json' },
    body: JSON.stringify({ body: 'Is it only in meeting room 3, or everywhere?' }),
  });
  await fetch(`${d.url}/api/v1/tickets/${id}/comments`, {
    method: 'POST',
    headers: { authorization: `Bearer ${d.token}`, 'content-type': 'application/json' },
    body: JSON.stringify({ body: 'The access point there was replaced last week.', internal: true }),
  });
  // Something for the audit log: a secret, a user, a revoked token.
  const admin = (path: string, body: unknown, method = 'POST') =>
    fetch(`${d.url}${path}`, {
      method,
      headers: { authorization: `Bearer ${d.token}`, 'content-type': 'application/json' },
      body: JSON.stringify(body),
    });
  await admin('/api/v1/enroll-secrets', { label: 'Berlin office laptops', expires_in_secs: 30 * 86400 });
  await admin('/api/v1/users', { email: 'mina.park@example.com', role: 'technician' });
  const tok = (await (await admin('/api/v1/tokens', { label: 'nightly export' })).json()) as { id: number };
  await fetch(`${d.url}/api/v1/tokens/${tok.id}`, { method: 'DELETE', headers: { authorization: `Bearer ${d.token}` } });
  for (const lang of ['en', 'ko', 'ja']) {
    await page.goto(d.url + '/');
    await page.getByTestId('language').selectOption(lang);
    await expect(page.getByTestId('queue').locator('tbody tr[data-id]').first()).toBeVisible();
    await page.screenshot({ path: `${OUT}/console-queue-${lang}.png` });
    await page.goto(`${d.url}/tickets/${id}`);
    await expect(page.getByTestId('conversation')).toBeVisible();
    await page.screenshot({ path: `${OUT}/console-ticket-${lang}.png` });
    await page.locator('#tab-diagnostics').click();
    await expect(page.getByTestId('chart-cpu')).toHaveAttribute('data-drawn', 'true');
    await page.screenshot({ path: `${OUT}/console-diagnostics-${lang}.png`, fullPage: true });
    await page.goto(`${d.url}/devices`);
    await expect(page.getByTestId('device-list').locator('tbody tr[data-id]').first()).toBeVisible();
    await page.screenshot({ path: `${OUT}/console-devices-${lang}.png` });
    await page.getByTestId('device-list').locator('tbody tr[data-id] a').first().click();
    await expect(page.getByTestId('chart-cpu')).toHaveAttribute('data-drawn', 'true');
    await page.screenshot({ path: `${OUT}/console-device-${lang}.png`, fullPage: true });
    await page.goto(`${d.url}/fleet`);
    await expect(page.getByTestId('chart-activity')).toHaveAttribute('data-drawn', 'true');
    await page.screenshot({ path: `${OUT}/console-fleet-${lang}.png`, fullPage: true });
    await page.goto(`${d.url}/software?q=lib`);
    await expect(page.getByTestId('software-catalogue').locator('tbody tr[data-name]').first()).toBeVisible();
    await page.screenshot({ path: `${OUT}/console-software-${lang}.png` });
    // The policy editor with a mistake the desk located, and its review.
    await page.goto(`${d.url}/admin/policy`);
    await page.getByTestId('policy-text').fill(POLICY.replace('interval = "15m"', 'interval = "often"'));
    await expect(page.getByTestId('policy-errors').locator('li')).toHaveCount(1);
    await page.screenshot({ path: `${OUT}/console-policy-${lang}.png`, fullPage: true });
    await page.goto(`${d.url}/admin/users`);
    await expect(page.getByTestId('user-list').locator('tbody tr').first()).toBeVisible();
    await page.screenshot({ path: `${OUT}/console-users-${lang}.png` });
    await page.goto(`${d.url}/admin/audit`);
    await expect(page.getByTestId('audit-log').locator('tbody tr[data-action]').first()).toBeVisible();
    await page.screenshot({ path: `${OUT}/console-audit-${lang}.png` });
  }
  await page.getByTestId('language').selectOption('en');
});
