// Administration in Chromium against the real desk and agents of desk.ts:
// the policy editor (an error shown at its check and field, the diff,
// publishing, history and rollback), enroll secrets (created, shown once,
// revoked, and then refused to a real deskside-agent), users (created,
// role changed, password reset and used), API tokens (created, used,
// revoked) and the audit log of all of it; what a technician sees; axe on
// every page; Korean and Japanese.
//
// The policy tests publish the agents' built-in policy (and end with it in
// force again after the rollback), and the user tests work on users of
// their own: the other specs' agents and logins behave as before.
import AxeBuilder from '@axe-core/playwright';
import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { expect, test, type Browser, type Page } from '@playwright/test';
import { agentEnv, desk } from './desk';

test.describe.configure({ mode: 'serial' });

const BUILTIN = readFileSync(new URL('../../crates/deskside-policy/src/default-policy.toml', import.meta.url), 'utf8');

async function login(page: Page, next: string, email = desk().email, password = desk().password): Promise<void> {
  await page.goto(desk().url + next);
  await page.getByLabel('E-mail').fill(email);
  await page.getByLabel('Password').fill(password);
  await page.getByRole('button', { name: 'Log in' }).click();
  await expect(page.getByTestId('who')).toHaveText(email);
}

async function axe(page: Page, what: string): Promise<void> {
  const r = await new AxeBuilder({ page }).analyze();
  const bad = r.violations.filter((v) => v.impact === 'serious' || v.impact === 'critical');
  expect(bad.map((v) => `${what}: ${v.id} ${v.nodes.map((n) => n.target.join(' ')).join(', ')}`)).toEqual([]);
}

async function api(path: string, token = desk().token, init: RequestInit = {}): Promise<Response> {
  return fetch(desk().url + path, { ...init, headers: { authorization: `Bearer ${token}`, ...(init.headers ?? {}) } });
}

/** Replaces the editor's text as a person would (select all, type). */
async function setText(page: Page, text: string): Promise<void> {
  const editor = page.getByTestId('policy-text');
  await editor.fill(text);
}

test('the policy editor shows an error at its check and field, then publishes with a diff', async ({ page }) => {
  await login(page, '/admin');
  await expect(page).toHaveURL(/\/admin$/);
  await expect(page.getByTestId('admin-tab-policy')).toHaveAttribute('aria-current', 'page');
  await expect(page.getByTestId('policy-version')).toContainText('No policy published yet');
  await axe(page, 'policy');

  // The built-in policy with a mistake in one check's interval.
  const broken = BUILTIN.replace(/id = "memory-available"\nkind = "memory_available"\nwarn = "10%"\ncrit = "5%"\ninterval = "1m"/, (m) => m.replace('interval = "1m"', 'interval = "every minute"'));
  expect(broken).not.toBe(BUILTIN);
  await setText(page, broken);
  const error = page.getByTestId('policy-errors').locator('li');
  await expect(error).toHaveCount(1);
  await expect(error).toHaveAttribute('data-check', 'memory-available');
  await expect(error).toHaveAttribute('data-field', 'interval');
  await expect(error).toContainText('check memory-available');
  await expect(error).toContainText('field interval');
  const line = broken.split('\n').findIndex((l) => l.includes('every minute')) + 1;
  await expect(error).toContainText(`Line ${line}`);
  await expect(page.getByTestId('policy-state')).toHaveText('1 error');
  await expect(page.getByTestId('policy-text')).toHaveAttribute('aria-invalid', 'true');
  await expect(page.getByTestId('policy-publish')).toBeDisabled();
  // The error takes the caret to its line.
  await error.getByRole('button').click();
  const selected = await page.getByTestId('policy-text').evaluate((el: HTMLTextAreaElement) => el.value.slice(el.selectionStart, el.selectionEnd));
  expect(selected).toBe('interval = "every minute"');
  await axe(page, 'policy with an error');

  // Fixed: valid, and the review lists what publishing adds.
  await setText(page, BUILTIN);
  await expect(page.getByTestId('policy-state')).toHaveText('Valid: ready to publish.');
  await expect(page.getByTestId('policy-errors').locator('li')).toHaveCount(0);
  await expect(page.getByTestId('policy-check-diff')).toContainText('Adds check disk-free');
  await page.getByTestId('policy-publish').click();
  await expect(page.getByTestId('policy-notice')).toContainText('Version 1 published');
  await expect(page.getByTestId('policy-version')).toContainText('Version 1 is in force');
  const v1 = (await (await api('/api/v1/policy')).json()) as { version: number; checks: { id: string }[] };
  expect(v1.version).toBe(1);
  expect(v1.checks.map((c) => c.id)).toContain('memory-available');

  // Version 2 changes one threshold: the diff shows exactly that line.
  const current = await page.getByTestId('policy-text').inputValue();
  const edited = current.replace('warn = "15%"', 'warn = "20%"');
  expect(edited).not.toBe(current);
  await setText(page, edited);
  await expect(page.getByTestId('policy-state')).toHaveText('Valid: ready to publish.');
  await expect(page.getByTestId('policy-check-diff')).toHaveText('Changes check disk-free');
  const diff = page.getByTestId('policy-diff');
  await expect(diff.locator('.del')).toHaveText(['- warn = "15%"']);
  await expect(diff.locator('.add')).toHaveText(['+ warn = "20%"']);
  await page.getByTestId('policy-publish').click();
  await expect(page.getByTestId('policy-version')).toContainText('Version 2 is in force');
  await expect(page.getByTestId('policy-history').locator('tbody tr')).toHaveCount(2);
  await expect(page.getByTestId('policy-history').locator('tr[data-version="2"]')).toContainText('changed disk-free');
  await expect(page.getByTestId('policy-history').locator('tr[data-version="2"]')).toContainText(desk().email);
});

test('a stale editor is told another administrator published, and keeps its text', async ({ page }) => {
  await login(page, '/admin/policy');
  await expect(page.getByTestId('policy-version')).toContainText('Version 2 is in force');
  const mine = (await page.getByTestId('policy-text').inputValue()).replace('crit = "5%"', 'crit = "4%"');
  await setText(page, mine);
  await expect(page.getByTestId('policy-state')).toHaveText('Valid: ready to publish.');
  // Meanwhile another administrator rolls back to version 1 (version 3).
  const r = await api('/api/v1/policy/rollback', desk().token, {
    method: 'POST',
    headers: { 'content-type': 'application/json', 'if-match': '"2"' },
    body: JSON.stringify({ version: 1 }),
  });
  expect(r.status).toBe(200);
  await page.getByTestId('policy-publish').click();
  await expect(page.getByTestId('policy-error')).toContainText('Another administrator published a new version meanwhile');
  await expect(page.getByTestId('policy-version')).toContainText('Version 3 is in force');
  await expect(page.getByTestId('policy-text')).toHaveValue(mine);
  expect(((await (await api('/api/v1/policy')).json()) as { version: number }).version).toBe(3);
  await page.getByTestId('policy-discard').click();
  await expect(page.getByTestId('policy-review')).toHaveCount(0);
});

test('rollback from the history publishes an earlier version again', async ({ page }) => {
  await login(page, '/admin/policy');
  await expect(page.getByTestId('policy-version')).toContainText('Version 3 is in force');
  await page.getByTestId('policy-rollback-2').click();
  await page.getByTestId('policy-rollback-2-confirm').click();
  await expect(page.getByTestId('policy-notice')).toContainText('Rolled back: version 4 is in force');
  const v4 = (await (await api('/api/v1/policy/text')).json()) as { version: number; text: string };
  expect(v4.text).toContain('warn = "20%"');
  // And back to version 1, the built-in policy, for the other specs.
  await page.getByTestId('policy-rollback-1').click();
  await page.getByTestId('policy-rollback-1-confirm').click();
  await expect(page.getByTestId('policy-version')).toContainText('Version 5 is in force');
  const v5 = (await (await api('/api/v1/policy')).json()) as { checks: unknown[] };
  const v1 = (await (await api('/api/v1/policy/history?limit=10')).json()) as { versions: { version: number; checks: unknown[] }[] };
  expect(v5.checks).toEqual(v1.versions.find((v) => v.version === 1)!.checks);
});

test('an enroll secret is shown once, and refused to an agent once revoked', async ({ page }) => {
  await login(page, '/admin/secrets');
  await axe(page, 'secrets');
  await page.getByTestId('secret-label').fill('Berlin office laptops');
  await page.getByTestId('secret-expiry').selectOption('7d');
  await page.getByTestId('secret-create').click();
  const secret = await page.getByTestId('secret-once-value').inputValue();
  expect(secret).toMatch(/^dsk_enr_/);
  const row = page.getByTestId('secret-list').locator('tbody tr').filter({ hasText: 'Berlin office laptops' });
  await expect(row).toContainText('active');
  // The list never shows the secret itself.
  await expect(page.getByTestId('secret-list')).not.toContainText(secret);
  await row.getByRole('button', { name: 'Revoke' }).click();
  await row.getByRole('button', { name: 'Revoke this secret' }).click();
  await expect(row).toContainText('revoked');
  await expect(page.getByTestId('secret-once')).toHaveCount(0);

  // A real agent with the revoked secret: refused, not enrolled.
  const d = desk();
  const env = { ...agentEnv(d), DESKSIDE_STATE_DIR: join(d.dir, 'agent-revoked') };
  let failed = '';
  try {
    execFileSync(join(d.bin, 'deskside-agent'), ['enroll', '--server', d.url, '--secret', secret], { env, encoding: 'utf8', timeout: 60_000, stdio: 'pipe' });
  } catch (e) {
    failed = String((e as { stderr?: string }).stderr ?? e);
  }
  expect(failed).toMatch(/enroll secret|invalid_enroll_secret/i);
  const { devices } = (await (await api('/api/v1/devices')).json()) as { devices: unknown[] };
  expect(devices).toHaveLength(2);
  await page.goto(desk().url + '/admin/audit');
  await expect(page.getByTestId('audit-log').locator('tr[data-action="enroll_secret.revoke"]').first()).toContainText('Revoked an enroll secret');
});

async function newPage(browser: Browser): Promise<Page> {
  const ctx = await browser.newContext();
  return ctx.newPage();
}

test('users: created, promoted, given a new password they sign in with, deactivated', async ({ page, browser }) => {
  await login(page, '/admin/users');
  await axe(page, 'users');
  await page.getByTestId('user-email').fill('ops@example.com');
  await page.getByTestId('user-password').fill('initial password 1');
  await page.getByTestId('user-create').click();
  await expect(page.getByTestId('users-notice')).toContainText('ops@example.com was added');
  const row = page.getByTestId('user-list').locator('tr[data-user="ops@example.com"]');
  await expect(row.getByRole('combobox')).toHaveValue('technician');
  await row.getByRole('combobox').selectOption('admin');
  await expect(page.getByTestId('users-notice')).toContainText('ops@example.com is now Administrator');
  // One's own role cannot change here.
  await expect(page.getByTestId('user-list').locator(`tr[data-user="${desk().email}"]`).getByRole('combobox')).toBeDisabled();

  const other = await newPage(browser);
  await login(other, '/admin/users', 'ops@example.com', 'initial password 1');
  await expect(other.getByTestId('admin-tab-users')).toBeVisible();

  await row.getByRole('button', { name: 'Reset password' }).click();
  await row.getByRole('button', { name: 'Give a new password' }).click();
  const given = await page.getByTestId('password-once-value').inputValue();
  expect(given.length).toBeGreaterThanOrEqual(20);
  // Their session ended: the next request sends them to the login page.
  await other.reload();
  await expect(other).toHaveURL(/\/login/);
  await login(other, '/admin/users', 'ops@example.com', given);
  await other.context().close();

  await row.getByRole('button', { name: 'Deactivate' }).click();
  await row.getByRole('button', { name: 'Deactivate this user' }).click();
  await expect(row).toContainText('deactivated');
  const r = await fetch(desk().url + '/api/v1/auth/login', {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ email: 'ops@example.com', password: given }),
  });
  expect(r.status).toBe(401);
});

test('API tokens: created and shown once, working, revoked', async ({ page }) => {
  await login(page, '/admin/tokens');
  await axe(page, 'tokens');
  await page.getByTestId('token-label').fill('nightly export');
  await page.getByTestId('token-create').click();
  const token = await page.getByTestId('token-once-value').inputValue();
  expect(token).toMatch(/^dsk_api_/);
  expect((await api('/api/v1/devices', token)).status).toBe(200);
  const row = page.getByTestId('token-list').locator('tbody tr').filter({ hasText: 'nightly export' });
  await row.getByRole('button', { name: 'Revoke' }).click();
  await row.getByRole('button', { name: 'Revoke this token' }).click();
  await expect(row).toContainText('revoked');
  expect((await api('/api/v1/devices', token)).status).toBe(401);

  await page.getByTestId('admin-tab-audit').click();
  await expect(page).toHaveURL(/\/admin\/audit$/);
  await axe(page, 'audit');
  const log = page.getByTestId('audit-log');
  await expect(log.locator('tr[data-action="token.revoke"]').first()).toContainText('Revoked an API token');
  await expect(log.locator('tr[data-action="token.create"]').first()).toContainText('nightly export');
  await expect(log.locator('tr[data-action="user.role"]').first()).toContainText('Administrator');
  await expect(log.locator('tr[data-action="policy.rollback"]').first()).toContainText('Rolled the policy back');
  await expect(log).not.toContainText(token);
});

test('a technician reads the policy and manages only their own tokens', async ({ page }) => {
  await login(page, '/admin/policy', desk().tech);
  await expect(page.getByTestId('policy-version')).toContainText('Version 5 is in force');
  await expect(page.getByTestId('policy-text')).toHaveAttribute('readonly', '');
  await expect(page.getByTestId('policy-publish')).toHaveCount(0);
  await expect(page.locator('[data-testid^="policy-rollback-"]')).toHaveCount(0);
  await expect(page.locator('.admin-nav a')).toHaveText(['Policy', 'Teams', 'SLA policies', 'Business hours', 'API tokens']);
  await page.goto(desk().url + '/admin/users');
  await expect(page.getByTestId('admin-only')).toBeVisible();
  await page.goto(desk().url + '/admin/tokens');
  await expect(page.getByTestId('token-everyone')).toHaveCount(0);
  await expect(page.getByTestId('token-list')).not.toContainText(desk().email);
});

test('administration in Korean and Japanese, by keyboard', async ({ page }) => {
  await login(page, '/admin/policy');
  await page.getByTestId('language').selectOption('ko');
  await expect(page.getByRole('heading', { level: 1 })).toHaveText('상태 점검 정책');
  await expect(page.getByTestId('admin-tab-secrets')).toHaveText('등록 비밀키');
  await page.getByTestId('language').selectOption('ja');
  await expect(page.getByRole('heading', { level: 1 })).toHaveText('ヘルスチェックポリシー');
  // Tabs are links: reachable and followed with the keyboard.
  await page.getByTestId('admin-tab-policy').focus();
  await page.keyboard.press('Tab');
  await expect(page.getByTestId('admin-tab-teams')).toBeFocused();
  await page.keyboard.press('Enter');
  await expect(page).toHaveURL(/\/admin\/teams$/);
  await expect(page.getByRole('heading', { level: 1 })).toHaveText('チーム');
  await page.getByTestId('admin-tab-secrets').focus();
  await page.keyboard.press('Enter');
  await expect(page).toHaveURL(/\/admin\/secrets$/);
  await expect(page.getByRole('heading', { level: 1 })).toHaveText('登録シークレット');
  await page.getByTestId('language').selectOption('en');
});
