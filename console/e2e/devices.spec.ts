// The fleet in Chromium against a real desk with two real agents of this
// machine (see desk.ts): the device list with its filters in the URL,
// installed software with a version "older than", CSV export, and the
// device page with hardware, checks, metric charts over a range, software
// and tickets; axe-core on each page, Korean and Japanese.
import AxeBuilder from '@axe-core/playwright';
import { readFileSync } from 'node:fs';
import { expect, test, type Page } from '@playwright/test';
import { desk } from './desk';

test.describe.configure({ mode: 'serial' });

interface Device {
  id: number;
  health: string | null;
}

async function login(page: Page, next: string): Promise<void> {
  const d = desk();
  await page.goto(d.url + next);
  await page.getByLabel('E-mail').fill(d.email);
  await page.getByLabel('Password').fill(d.password);
  await page.getByRole('button', { name: 'Log in' }).click();
  await expect(page.getByTestId('who')).toHaveText(d.email);
}

async function axe(page: Page, what: string): Promise<void> {
  const r = await new AxeBuilder({ page }).analyze();
  const bad = r.violations.filter((v) => v.impact === 'serious' || v.impact === 'critical');
  expect(bad.map((v) => `${what}: ${v.id} ${v.nodes.map((n) => n.target.join(' ')).join(', ')}`)).toEqual([]);
}

async function get<T>(path: string): Promise<T> {
  const d = desk();
  const r = await fetch(d.url + path, { headers: { authorization: `Bearer ${d.token}` } });
  expect(r.status, path).toBe(200);
  return (await r.json()) as T;
}

/** The two devices, in enrollment order, and a package the first has (dpkg's own). */
async function fleet(): Promise<{ first: Device; second: Device; pkg: string; version: string }> {
  const { devices } = await get<{ devices: Device[] }>('/api/v1/devices');
  expect(devices).toHaveLength(2);
  const detail = await get<{ inventory: { software: { name: string; version: string | null }[] } }>(`/api/v1/devices/${devices[0].id}`);
  const dpkg = detail.inventory.software.find((p) => p.name === 'dpkg' && p.version);
  expect(dpkg, 'dpkg is in the inventory of a Debian machine').toBeTruthy();
  return { first: devices[0], second: devices[1], pkg: 'dpkg', version: dpkg!.version! };
}

function rowIds(page: Page) {
  return page.getByTestId('device-list').locator('tbody tr[data-id]');
}

test('the device list filters by software and version, older than too, in the URL', async ({ page }) => {
  const { first, second, pkg, version } = await fleet();
  await login(page, '/devices');
  await expect(rowIds(page)).toHaveCount(2);
  await axe(page, 'devices');

  await page.getByTestId('device-software').fill(pkg);
  await expect(page).toHaveURL(new RegExp(`/devices\\?software=${pkg}$`));
  // Only the first agent scanned dpkg.
  await expect(rowIds(page)).toHaveCount(1);
  await expect(rowIds(page).first()).toHaveAttribute('data-id', String(first.id));

  await page.getByTestId('device-version').fill(version);
  await expect(rowIds(page)).toHaveCount(1);
  await page.getByTestId('device-version-op').selectOption('older');
  await expect(page).toHaveURL(/op=older/);
  // Not older than itself…
  await expect(page.getByTestId('device-list')).toContainText('No device matches');
  // …but older than a later one: epoch 999 comes after any version
  // without one, in Debian's order.
  await page.getByTestId('device-version').fill('999:0');
  await expect(rowIds(page)).toHaveCount(1);
  await expect(rowIds(page).first()).toHaveAttribute('data-id', String(first.id));

  // The filters live in the URL: a reload shows the same result.
  await page.reload();
  await expect(page.getByTestId('device-software')).toHaveValue(pkg);
  await expect(page.getByTestId('device-version-op')).toHaveValue('older');
  await expect(rowIds(page)).toHaveCount(1);

  // Saved as a view of the device list, it comes back after a reload and
  // stays out of the queue's views.
  await page.getByTestId('device-view-name').fill('Old dpkg');
  await page.getByTestId('device-view-name').press('Enter');
  const view = page.getByTestId('device-views').getByRole('link', { name: 'Old dpkg' });
  await expect(view).toHaveAttribute('href', new RegExp(`software=${pkg}.*op=older`));
  await page.goto(desk().url + '/devices');
  await expect(rowIds(page)).toHaveCount(2);
  await page.getByTestId('device-views').getByRole('link', { name: 'Old dpkg' }).click();
  await expect(page).toHaveURL(/op=older/);
  await expect(rowIds(page)).toHaveCount(1);
  const queueViews = await get<{ views: { name: string }[] }>('/api/v1/views');
  expect(queueViews.views.map((v) => v.name)).not.toContain('Old dpkg');
  await page.getByRole('button', { name: 'Delete view Old dpkg' }).click();
  await expect(page.getByTestId('device-views').getByRole('link', { name: 'Old dpkg' })).toHaveCount(0);

  // Health: the second agent has run no check, so its health is unknown.
  expect(second.health).toBeNull();
  await page.goto(desk().url + '/devices?health=unknown');
  await expect(page.getByTestId('device-health')).toHaveValue('unknown');
  await expect(rowIds(page)).toHaveCount(first.health === null || first.health === 'unknown' ? 2 : 1);
  await expect(page.getByTestId('device-list').locator(`tr[data-id="${second.id}"]`)).toContainText('Unknown');
});

test('CSV export holds the whole current result, formulas defused', async ({ page }) => {
  const { first, second } = await fleet();
  await login(page, '/devices');
  await expect(rowIds(page)).toHaveCount(2);
  const [download] = await Promise.all([page.waitForEvent('download'), page.getByTestId('device-export').click()]);
  expect(download.suggestedFilename()).toBe('devices.csv');
  const text = readFileSync((await download.path())!, 'utf8');
  const lines = text.trim().split('\r\n');
  expect(lines[0]).toBe('id,hostname,serial_number,os_name,os_version,users,health,offline,agent_version,last_seen,enrolled_at');
  expect(lines.slice(1).map((l) => l.split(',')[0]).sort()).toEqual([String(first.id), String(second.id)].sort());
});

test('the device page shows hardware, checks, charts over a range, software and tickets', async ({ page }) => {
  const { first, second } = await fleet();
  await login(page, '/devices');
  await page.getByTestId('device-list').locator(`tr[data-id="${first.id}"] a`).click();
  await expect(page).toHaveURL(new RegExp(`/devices/${first.id}$`));
  await expect(page.getByTestId('device-identity')).toContainText('Debian');
  await expect(page.getByTestId('device-hardware')).toContainText('Memory');
  await expect(page.getByTestId('device-checks').locator('li.check').first()).toBeVisible();
  // The desk recorded each check's first result.
  await expect(page.getByTestId('transition').first()).toContainText('first result');
  // A day of samples: the charts are drawn, and the CPU spike is the max.
  await expect(page.getByTestId('chart-cpu')).toHaveAttribute('data-drawn', 'true');
  await expect(page.getByTestId('chart-memory')).toHaveAttribute('data-drawn', 'true');
  await page.getByTestId('range-7d').click();
  await expect(page).toHaveURL(new RegExp(`/devices/${first.id}\\?range=7d$`));
  await expect(page.getByTestId('range-7d')).toHaveAttribute('aria-pressed', 'true');
  await expect(page.getByTestId('chart-cpu')).toHaveAttribute('data-drawn', 'true');
  const week = await get<{ step: number; series: { name: string; max: (number | null)[] }[] }>(
    `/api/v1/devices/${first.id}/metrics?from=${new Date(Date.now() - 7 * 86_400_000).toISOString()}&to=${new Date().toISOString()}`,
  );
  expect(week.step % 3600).toBe(0);
  expect(Math.max(...(week.series.find((s) => s.name === 'cpu')?.max ?? []).map((v) => v ?? 0))).toBeCloseTo(99, 3);

  // The inventory for GLPI, downloaded as a technician would.
  const [glpi] = await Promise.all([page.waitForEvent('download'), page.getByTestId('glpi-download').click()]);
  expect(glpi.suggestedFilename()).toMatch(new RegExp(`-${first.id}\\.glpi\\.json$`));
  const doc = JSON.parse(readFileSync((await glpi.path())!, 'utf8')) as { itemtype: string; content: { softwares: { name: string }[] } };
  expect(doc.itemtype).toBe('Computer');
  expect(doc.content.softwares.some((s) => s.name === 'dpkg')).toBe(true);

  await page.getByTestId('software-search').fill('dpkg');
  await expect(page.getByTestId('device-software').locator('tbody tr').first()).toContainText('dpkg');
  await expect(page.getByTestId('device-tickets')).toContainText('Wi-Fi drops every few minutes');
  await axe(page, 'device');

  // The ticket opens from the device page.
  await page.getByTestId('device-tickets').getByRole('link', { name: /Printer on floor 3 jams/ }).click();
  await expect(page).toHaveURL(/\/tickets\/\d+$/);

  // The second agent: no software scanned, no check run.
  await page.goto(`${desk().url}/devices/${second.id}`);
  await expect(page.getByTestId('device-health')).toHaveText('Unknown');
  await expect(page.getByTestId('device-software')).toContainText('No package matches.');
  await expect(page.getByTestId('device-metrics')).toContainText('no metrics');
});

test('the software catalogue and a package page with its devices per version', async ({ page }) => {
  const { first, pkg, version } = await fleet();
  await login(page, '/software');
  await page.getByTestId('software-catalogue-search').fill(pkg);
  await expect(page).toHaveURL(new RegExp(`/software\\?q=${pkg}$`));
  const row = page.getByTestId('software-catalogue').locator(`tr[data-name="${pkg}"]`);
  await expect(row).toContainText(version);
  await axe(page, 'software');
  await row.getByRole('link', { name: pkg }).click();
  await expect(page).toHaveURL(new RegExp(`/software/${pkg}$`));
  await expect(page.getByTestId('package-title')).toHaveText(pkg);
  const v = page.getByTestId('package-versions').locator('li.card').first();
  await expect(v).toContainText(version);
  // The devices on that version, by name: the first agent only.
  await expect(v.locator('.inline-list a')).toHaveCount(1);
  await expect(v.locator('.inline-list a')).toHaveAttribute('href', `/devices/${first.id}`);
  await axe(page, 'package');
  // Nothing runs an older one.
  await v.getByTestId('older-than').click();
  await expect(page).toHaveURL(new RegExp(`/devices\\?software=${pkg}&exact=1&version=.+&op=older$`));
  await expect(page.getByTestId('exact-package')).toBeVisible();
  await expect(page.getByTestId('device-list')).toContainText('No device matches');
  await page.goBack();
  await page.getByTestId('package-devices').click();
  await expect(rowIds(page)).toHaveCount(1);
});

test('the fleet overview counts devices and opens the devices of a failing check', async ({ page }) => {
  const { first, second } = await fleet();
  const overview = await get<{ by_health: { name: string; devices: number }[]; failing_checks: { name: string; devices: number }[] }>('/api/v1/fleet');
  expect(overview.by_health.reduce((n, c) => n + c.devices, 0)).toBe(2);
  await login(page, '/fleet');
  await expect(page.getByTestId('fleet-health-unknown').locator('.big')).toHaveText(
    String(overview.by_health.find((c) => c.name === 'unknown')?.devices ?? 0),
  );
  await expect(page.getByTestId('chart-activity')).toHaveAttribute('data-drawn', 'true');
  await axe(page, 'fleet');
  const failing = overview.failing_checks[0];
  if (failing) {
    // Only the first agent ran checks.
    await page.getByTestId('fleet-failing').locator(`tr[data-check="${failing.name}"] a`).click();
    await expect(page).toHaveURL(new RegExp(`/devices\\?failing=${failing.name}$`));
    await expect(rowIds(page)).toHaveCount(1);
    await expect(rowIds(page).first()).toHaveAttribute('data-id', String(first.id));
  } else {
    await expect(page.getByTestId('fleet-failing')).toContainText('No check is failing');
  }
  await page.goto(desk().url + '/fleet');
  await page.getByTestId('fleet-health-unknown').click();
  await expect(page).toHaveURL(/\/devices\?health=unknown$/);
  await expect(page.getByTestId('device-list').locator(`tr[data-id="${second.id}"]`)).toBeVisible();
});

test('devices in Korean and Japanese', async ({ page }) => {
  const { first } = await fleet();
  await login(page, `/devices/${first.id}`);
  await page.getByTestId('language').selectOption('ko');
  await expect(page.getByTestId('device-hardware')).toContainText('하드웨어');
  await expect(page.getByTestId('nav-devices')).toHaveText('장치');
  await page.getByTestId('language').selectOption('ja');
  await expect(page.getByTestId('device-checks')).toContainText('ヘルスチェック');
  await axe(page, 'device (ja)');
  await page.getByTestId('language').selectOption('en');
});
