// Screenshots of the console for the README and docs/screenshots: the
// queue, a ticket and its diagnostics viewer, the device list, a device's
// page, the fleet overview, the software catalogue and the administration
// pages (policy editor, users, audit log), service management (a ticket
// with its SLA, SLA policies, teams, a problem, the KPI dashboard), a
// knowledge-base article, in English, Korean
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
  // Service management: a team, business hours, two policies, tickets
  // opened by phone and e-mail, a problem.
  const json = async <T,>(res: Promise<Response>) => (await (await res).json()) as T;
  const team = await json<{ id: number }>(admin('/api/v1/teams', { name: 'Service desk', auto_assign: 'round_robin', members: [d.email, d.tech] }));
  await admin('/api/v1/teams', { name: 'Network', auto_assign: 'least_open', members: [d.tech] });
  const cal = await json<{ id: number }>(
    admin('/api/v1/sla/calendars', {
      name: 'Berlin office',
      time_zone: 'Europe/Berlin',
      week: { mon: [['08:00', '12:00'], ['13:00', '17:00']], tue: [['08:00', '17:00']], wed: [['08:00', '17:00']], thu: [['08:00', '17:00']], fri: [['08:00', '15:00']] },
      holidays: ['2026-12-24', '2026-12-25', '2026-12-26', '2027-01-01'],
    }),
  );
  await admin('/api/v1/sla/policies', { name: 'Critical', conditions: { priorities: [1, 2] }, first_response_minutes: 30, resolution_minutes: 240, escalations: [{ on: 'warning', notify: true }, { on: 'breach', raise_tier: true, notify: true }] });
  await admin('/api/v1/sla/policies', { name: 'Service desk', calendar_id: cal.id, conditions: { teams: [team.id] }, first_response_minutes: 240, resolution_minutes: 1440, next_response_minutes: 480, escalations: [{ on: 'breach', notify: true }] });
  const phone = await json<{ ticket: { id: number } }>(
    admin('/api/v1/tickets', { channel: 'phone', requester_name: 'Ana Example', requester_email: 'ana@example.com', subject: 'Locked out after the password change', category: 'account', team_id: team.id, description: 'Calling from a colleague’s phone.' }),
  );
  await admin('/api/v1/tickets', { channel: 'email', requester_name: 'Cy Printer', requester_email: 'cy@example.com', subject: 'New monitor for the reception desk', ticket_type: 'service_request', category: 'hardware', team_id: team.id });
  const problem = await json<{ id: number }>(admin('/api/v1/problems', { subject: 'Wi-Fi drops in building B', description: 'Several reports since Monday.', root_cause: 'Access point firmware 7.2 drops clients on roaming.', workaround: 'Forget and rejoin the network.', known_error: true }));
  await admin(`/api/v1/tickets/${id}`, { problem_id: problem.id }, 'PATCH');
  // The knowledge base: an article in three languages.
  const article = await json<{ id: number }>(
    admin('/api/v1/kb/articles', {
      state: 'published',
      category: 'network',
      tags: ['wi-fi'],
      checks: ['wifi-signal'],
      texts: [
        { lang: 'en', title: 'Wi-Fi drops in building B', body: '## Workaround\n\n1. Open **Wi-Fi settings**\n2. Forget `corp-wifi`\n3. Join it again\n\nThe access points get new firmware on Friday.' },
        { lang: 'ko', title: 'B동에서 Wi-Fi가 끊겨요', body: '## 임시 해결 방법\n\n1. **Wi-Fi 설정**을 엽니다\n2. `corp-wifi`를 삭제합니다\n3. 다시 연결합니다' },
        { lang: 'ja', title: 'B棟で Wi-Fi が切れる', body: '## 回避策\n\n1. **Wi-Fi 設定**を開く\n2. `corp-wifi` を削除\n3. もう一度接続する' },
      ],
    }),
  );
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
    await page.goto(`${d.url}/tickets/${phone.ticket.id}`);
    await expect(page.getByTestId('sla-panel')).toBeVisible();
    await page.screenshot({ path: `${OUT}/console-sla-ticket-${lang}.png`, fullPage: true });
    await page.goto(`${d.url}/admin/sla`);
    await expect(page.getByTestId('sla-policies').locator('tbody tr').nth(1)).toBeVisible();
    await page.screenshot({ path: `${OUT}/console-sla-policies-${lang}.png` });
    await page.goto(`${d.url}/admin/teams`);
    await expect(page.getByTestId('teams').locator('tbody tr').nth(1)).toBeVisible();
    await page.screenshot({ path: `${OUT}/console-teams-${lang}.png` });
    await page.goto(`${d.url}/problems/${problem.id}`);
    await expect(page.getByTestId('problem-tickets').locator('li a')).toHaveCount(1);
    await page.screenshot({ path: `${OUT}/console-problem-${lang}.png`, fullPage: true });
    await page.goto(`${d.url}/kb/${article.id}`);
    await page.getByTestId(`kb-lang-${lang}`).click();
    await expect(page.getByTestId('kb-preview').locator('h2')).toBeVisible();
    await page.screenshot({ path: `${OUT}/console-kb-article-${lang}.png`, fullPage: true });
    await page.goto(`${d.url}/reports?group_by=team`);
    await expect(page.getByTestId('kpi-chart-volume')).toHaveAttribute('data-drawn', 'true');
    await page.screenshot({ path: `${OUT}/console-kpis-${lang}.png`, fullPage: true });
  }
  await page.getByTestId('language').selectOption('en');
});
