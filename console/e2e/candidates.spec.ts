// Problems the desk proposes, in Chromium against the real desk of
// desk.ts (which looks for them every two seconds): three devices that
// got the same package version and then filed tickets make a candidate;
// a technician opens a problem from it, worded in the console's
// language, with the incidents linked.
import AxeBuilder from '@axe-core/playwright';
import { expect, test, type Page } from '@playwright/test';
import { agent, desk } from './desk';

async function login(page: Page, next: string): Promise<void> {
  await page.goto(desk().url + next);
  await page.getByLabel('E-mail').fill(desk().tech);
  await page.getByLabel('Password').fill(desk().password);
  await page.getByRole('button', { name: 'Log in' }).click();
  await expect(page.getByTestId('who')).toHaveText(desk().tech);
}

async function json(r: Response, status: number): Promise<Record<string, unknown>> {
  const body = await r.text();
  expect(r.status, body).toBe(status);
  return body ? (JSON.parse(body) as Record<string, unknown>) : {};
}

test('three devices\' tickets after one package version: a proposed problem, opened', async ({ page }) => {
  const d = desk();
  const admin = { authorization: `Bearer ${d.token}`, 'content-type': 'application/json' };
  const secret = (await json(await fetch(`${d.url}/api/v1/enroll-secrets`, {
    method: 'POST', headers: admin, body: JSON.stringify({ label: 'candidates', expires_in_secs: 3600 }),
  }), 201)).secret as string;
  // This machine's inventory, as three devices with and then without the
  // package (the desk records the change it sees between the two).
  const inventory = JSON.parse(agent(d, 'inventory', '--format', 'json')) as Record<string, unknown> & { software: Record<string, unknown>[]; device: Record<string, unknown> };
  const tickets: number[] = [];
  for (const n of [1, 2, 3]) {
    const enrolled = await json(await fetch(`${d.url}/api/v1/enroll`, {
      method: 'POST', headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ enroll_secret: secret, device: { device_key: `e2e-candidate-${n}`, hostname: `cand-${n}` } }),
    }), 201);
    const device = { authorization: `Bearer ${enrolled.device_token as string}`, 'content-type': 'application/json' };
    const base = { ...inventory, device: { ...inventory.device, hostname: `cand-${n}` } };
    for (const software of [inventory.software, [...inventory.software, { name: 'libe2e-print', source: 'dpkg', version: '9.1' }]]) {
      const r = await fetch(`${d.url}/api/v1/agent/inventory`, { method: 'PUT', headers: device, body: JSON.stringify({ ...base, software }) });
      expect(r.status, await r.text()).toBeLessThan(300);
    }
    const form = new FormData();
    form.append('ticket', new Blob([JSON.stringify({ subject: `Printing broke on cand-${n}`, category: 'printer' })], { type: 'application/json' }));
    const filed = await json(await fetch(`${d.url}/api/v1/agent/tickets`, {
      method: 'POST', headers: { authorization: device.authorization, 'idempotency-key': `e2e-candidate-${n}` }, body: form,
    }), 201);
    tickets.push(filed.id as number);
  }

  await login(page, '/problems');
  const candidate = page.getByTestId('candidate').filter({ hasText: 'libe2e-print' });
  await expect(async () => {
    await page.reload();
    await expect(candidate).toBeVisible({ timeout: 1000 });
  }).toPass({ timeout: 30_000 });
  await expect(candidate).toContainText('3 devices with incidents after it arrived');
  for (const n of [1, 2, 3]) await expect(candidate).toContainText(`Printing broke on cand-${n} on cand-${n}`);
  const a = await new AxeBuilder({ page }).analyze();
  expect(a.violations.filter((v) => v.impact === 'serious' || v.impact === 'critical').map((v) => v.id)).toEqual([]);

  // Opened in Japanese: the problem's subject is the console's words.
  await page.getByTestId('language').selectOption('ja');
  await candidate.getByTestId('candidate-accept').click();
  await expect(page).toHaveURL(/\/problems\/\d+$/);
  await expect(page.getByRole('heading', { level: 1 })).toContainText('libe2e-print 9.1：3 台のデバイスでインシデント');
  for (const id of tickets) await expect(page.getByRole('link', { name: new RegExp(`#${id}\\b`) }).first()).toBeVisible();
  await page.getByTestId('language').selectOption('en');
});
