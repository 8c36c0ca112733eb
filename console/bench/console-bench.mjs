// The console with a full desk, measured in Chromium (release build of
// deskside-server, the console as shipped): 10,000 tickets filed through
// the device API, one of them with a 2 MB diagnostics bundle; then
// - the queue: navigation start to the first page drawn, 5 cold loads;
// - a filter change: the click to the new page drawn, 10 changes;
// - the ticket with the 2 MB bundle: opening the diagnostics tab to every
//   chart drawn, 5 times;
// - live: a ticket filed through the device API to its row in an open
//   queue, 5 times;
// and the JavaScript of the first load (gzip). Figures are medians, with
// the targets of the console issue beside them as ratios.
// Usage: node bench/console-bench.mjs SERVER_BINARY
import { execFileSync, spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, readdirSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import { chromium } from 'playwright-core';

const TICKETS = Number(process.env.DESKSIDE_BENCH_TICKETS ?? 10000);
const server = process.argv[2];
if (!server) throw new Error('usage: console-bench.mjs SERVER_BINARY');

const port = await new Promise((resolve) => {
  const s = createServer();
  s.listen(0, '127.0.0.1', () => {
    const p = s.address().port;
    s.close(() => resolve(p));
  });
});
const dir = mkdtempSync(join(tmpdir(), 'deskside-bench-'));
const env = { ...process.env, DESKSIDE_DATA_DIR: dir, DESKSIDE_LOG: 'warn' };
const password = 'benchmark password';
execFileSync(server, ['user', 'create', '--email', 'bench@example.com', '--role', 'admin', '--password-stdin'], { env, input: `${password}\n` });
const secret = execFileSync(server, ['enroll-secret', 'create'], { env, encoding: 'utf8' }).trim();
const token = execFileSync(server, ['token', 'create', '--email', 'bench@example.com'], { env, encoding: 'utf8' }).trim();
const desk = spawn(server, ['serve', '--listen', `127.0.0.1:${port}`], { env, stdio: 'ignore' });
const url = `http://127.0.0.1:${port}`;
for (let i = 0; i < 200; i += 1) {
  try {
    if ((await fetch(`${url}/healthz`)).ok) break;
  } catch {}
  await new Promise((r) => setTimeout(r, 50));
}

// 16 devices (enrollment is rate-limited per address) file the tickets,
// 8 requests at a time.
const devices = [];
for (let i = 0; i < 16; i += 1) {
  const r = await fetch(`${url}/api/v1/enroll`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ enroll_secret: secret, device: { device_key: `bench-${i}`, hostname: `laptop-${String(i).padStart(3, '0')}` } }),
  });
  if (r.status !== 201) throw new Error(`enroll: ${r.status} ${await r.text()}`);
  devices.push((await r.json()).device_token);
}
const categories = ['hardware', 'software', 'network', 'account', 'printer', 'other'];
const urgencies = ['low', 'medium', 'high'];
async function file(i, diagnostics) {
  const form = new FormData();
  const ticket = { subject: `Ticket ${i}: ${['VPN drops', 'Printer jams', 'Slow laptop', 'Password reset', 'No sound'][i % 5]}`, description: `Benchmark ticket number ${i}.`, category: categories[i % 6], urgency: urgencies[i % 3] };
  form.append('ticket', new Blob([JSON.stringify(ticket)], { type: 'application/json' }));
  if (diagnostics) form.append('diagnostics', new Blob([diagnostics]), 'diagnostics.json.gz');
  // A kept-alive connection the desk closed fails the write: sent again
  // with the same idempotency key, as the agent does.
  for (let attempt = 1; ; attempt += 1) {
    try {
      const r = await fetch(`${url}/api/v1/agent/tickets`, { method: 'POST', headers: { authorization: `Bearer ${devices[i % devices.length]}`, 'idempotency-key': `bench-${i}` }, body: form });
      if (r.status !== 201 && r.status !== 200) throw new Error(`ticket ${i}: ${r.status} ${await r.text()}`);
      return (await r.json()).id;
    } catch (e) {
      if (attempt >= 3 || String(e).includes(`ticket ${i}:`)) throw e;
    }
  }
}

// A 2 MB bundle: a day of history (60 min of 10 s samples, 23 h of
// rollups), 200 log lines, 30 processes, padded with varied log text.
function bigBundle() {
  const now = Date.now();
  let seed = 7;
  const rnd = () => ((seed = (seed * 1103515245 + 12345) % 2147483648) / 2147483648);
  const sample = (t) => ({
    timestamp: new Date(t).toISOString(),
    cpu: { usage_percent: 100 * rnd(), per_core_percent: [100 * rnd(), 100 * rnd(), 100 * rnd(), 100 * rnd()] },
    load_average: { one: 4 * rnd(), five: 3 * rnd(), fifteen: 2 * rnd() },
    memory: { total_bytes: 16e9, used_bytes: Math.round(8e9 + 4e9 * rnd()), available_bytes: 4e9, swap_total_bytes: 2e9, swap_used_bytes: Math.round(1e8 * rnd()) },
    volumes: [{ mount_point: '/', total_bytes: 5e11, free_bytes: Math.round(1e11 * rnd()) }, { mount_point: '/home', total_bytes: 1e12, free_bytes: Math.round(5e11 * rnd()) }],
    network: [{ interface: 'wlan0', rx_bytes_per_sec: 1e6 * rnd(), tx_bytes_per_sec: 1e5 * rnd() }],
    temperatures: [{ label: 'Package id 0', celsius: 40 + 40 * rnd() }, { label: 'nvme', celsius: 30 + 20 * rnd() }],
  });
  const history = [];
  for (let t = now - 3600e3; t < now; t += 10e3) history.push(sample(t));
  const rollups = [];
  for (let m = 23 * 60; m > 60; m -= 1) {
    rollups.push({ minute: new Date(Math.floor((now - m * 60e3) / 60e3) * 60e3).toISOString(), samples: 6, cpu_avg_percent: 50 * rnd(), cpu_max_percent: 100 * rnd(), load_one_avg: 2 * rnd(), memory_used_avg_bytes: Math.round(9e9 * rnd()), memory_used_max_bytes: 12e9, min_volume_free_percent: 20 * rnd(), net_rx_avg_bytes_per_sec: 1e6 * rnd(), net_tx_avg_bytes_per_sec: 1e5 * rnd(), temperature_max_celsius: 50 + 30 * rnd() });
  }
  const procs = Array.from({ length: 15 }, (_, i) => ({ pid: 1000 + i, name: `proc-${i}`, cpu_percent: 100 * rnd(), memory_bytes: Math.round(1e9 * rnd()), command: `/usr/bin/proc-${i} --flag ${rnd().toString(36)}` }));
  const logs = Array.from({ length: 200 }, (_, i) => `${new Date(now - (200 - i) * 1000).toISOString()} ${['INFO', 'WARN', 'ERROR'][i % 3]} deskside_agent::runtime: event ${i} ${rnd().toString(36)}`);
  const b = {
    format_version: 3, created_at: new Date(now).toISOString(), agent_version: '0.1.0', config: { desk: { server_url: url } }, excluded: [],
    device: { collected_at: new Date(now).toISOString(), device: { hostname: 'laptop-big' }, os: { name: 'Debian GNU/Linux', version: '12', uptime_secs: 86400 }, hardware: { network_interfaces: [] }, software: [] },
    software_count: 1500,
    software_changes: Array.from({ length: 40 }, (_, i) => ({ seen_at: new Date(now - i * 3600e3).toISOString(), changes: { software_added: [{ name: `pkg-${i}`, source: 'dpkg', version: `1.${i}` }], software_removed: [], software_changed: [{ name: `lib-${i}`, source: 'dpkg', kind: 'upgraded', old_version: '1.0', new_version: '1.1' }], system_changes: [] } })),
    overall_health: 'warning',
    check_results: Array.from({ length: 12 }, (_, i) => ({ check_id: `check-${i}`, state: ['ok', 'warning', 'critical'][i % 3], summary: `summary ${i}`, timestamp: new Date(now).toISOString(), duration_ms: 3, alert_state: 'ok' })),
    transitions: Array.from({ length: 100 }, (_, i) => ({ check_id: `check-${i % 12}`, from: 'ok', to: 'warning', at: new Date(now - i * 600e3).toISOString(), summary: 'changed' })),
    metrics: { current: sample(now), history, rollups },
    processes: { by_cpu: procs, by_memory: procs },
    network: { interfaces: [], dns_servers: ['10.0.0.1'], desk: { url, addresses: ['127.0.0.1'], reachable: true, connect_ms: 0.4 } },
    logs, screenshot: null, dropped: [],
  };
  // Pad to 2 MB compressed with varied (incompressible) log text.
  let gz = gzipSync(JSON.stringify(b));
  const pad = [];
  while (gz.length < 1.9 * 1024 * 1024) {
    for (let i = 0; i < 2000; i += 1) pad.push(Array.from({ length: 6 }, () => rnd().toString(36).slice(2)).join(' '));
    b.config.padding = pad;
    gz = gzipSync(JSON.stringify(b));
  }
  return gz;
}

const t0 = Date.now();
const bundle = bigBundle();
let bigId = 0;
let next = 0;
await Promise.all(
  Array.from({ length: 8 }, async () => {
    for (;;) {
      const i = next++;
      if (i >= TICKETS) return;
      const id = await file(i, i === TICKETS - 1 ? bundle : null);
      if (i === TICKETS - 1) bigId = id;
    }
  }),
);
const seedSecs = (Date.now() - t0) / 1000;
const diagState = await (await fetch(`${url}/api/v1/tickets/${bigId}/diagnostics`, { headers: { authorization: `Bearer ${token}` } })).json();
if (diagState.state !== 'ok') throw new Error(`the big bundle reads as ${diagState.state}: ${diagState.reason}`);
const apiTimes = [];
for (let i = 0; i < 5; i += 1) {
  const s = performance.now();
  const r = await fetch(`${url}/api/v1/tickets/${bigId}/diagnostics`, { headers: { authorization: `Bearer ${token}` } });
  const body = await r.arrayBuffer();
  apiTimes.push(performance.now() - s);
  if (i === 0) console.log(`diagnostics answer: ${(body.byteLength / 1024 / 1024).toFixed(1)} MB of JSON`);
}

const browser = await chromium.launch({
  executablePath: process.env.DESKSIDE_CHROMIUM ?? '/usr/bin/chromium',
  args: ['--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-component-update', '--disable-sync', '--no-first-run'],
});
const context = await browser.newContext();
const page = await context.newPage();
await page.goto(`${url}/login`);
await page.fill('#email', 'bench@example.com');
await page.fill('#password', password);
await page.click('button[type=submit]');
await page.waitForSelector('[data-testid=queue] tbody tr[data-id]');

const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
const queue = [];
for (let i = 0; i < 5; i += 1) {
  const p = await context.newPage();
  await p.goto(`${url}/`);
  await p.waitForFunction(() => performance.getEntriesByName('deskside:queue-ready').length > 0);
  queue.push(await p.evaluate(() => performance.getEntriesByName('deskside:queue-ready')[0].startTime));
  await p.close();
}
const filter = [];
const choices = ['printer', 'network', 'software', 'account', 'hardware'];
await page.goto(`${url}/`);
await page.waitForFunction(() => performance.getEntriesByName('deskside:queue-ready').length > 0);
for (let i = 0; i < 10; i += 1) {
  const before = await page.evaluate(() => performance.getEntriesByName('deskside:queue-ready').length);
  const start = await page.evaluate(() => performance.now());
  await page.selectOption('[data-testid=filter-category]', choices[i % choices.length]);
  await page.waitForFunction((n) => performance.getEntriesByName('deskside:queue-ready').length > n, before);
  const end = await page.evaluate(() => performance.getEntriesByName('deskside:queue-ready').at(-1).startTime);
  filter.push(end - start);
}
// Live: a ticket filed through the device API to its row in an open queue.
const live = [];
await page.goto(`${url}/`);
await page.waitForSelector('[data-testid=queue] tbody tr[data-id]');
await page.waitForFunction(() => document.documentElement.dataset.live === 'on');
for (let i = 0; i < 5; i += 1) {
  const n = TICKETS + 100 + i;
  const start = Date.now();
  const id = await file(n, null);
  await page.waitForSelector(`[data-testid=queue] tbody tr[data-id="${id}"]`, { timeout: 30000 });
  live.push(Date.now() - start);
}
const diag = [];
for (let i = 0; i < 5; i += 1) {
  await page.goto(`${url}/tickets/${bigId}`);
  await page.waitForSelector('[data-testid=ticket]');
  const start = await page.evaluate(() => performance.now());
  await page.click('#tab-diagnostics');
  await page.waitForFunction(() => {
    const charts = [...document.querySelectorAll('[data-testid^=chart-]')];
    return charts.length >= 5 && charts.every((c) => c.getAttribute('data-drawn') === 'true');
  }, undefined, { timeout: 30000, polling: 'raf' });
  diag.push((await page.evaluate(() => performance.now())) - start);
  if (process.env.DESKSIDE_BENCH_DEBUG) console.log(await page.evaluate((s) => performance.getEntriesByType('mark').filter((m) => m.startTime > s).map((m) => `${m.name} +${Math.round(m.startTime - s)}`).join(' '), start), await page.evaluate((s) => performance.getEntriesByType('resource').filter((m) => m.startTime > s).map((m) => `${m.name.split('/').slice(-2).join('/')} ${Math.round(m.startTime - s)}..${Math.round(m.responseEnd - s)}`).join('; '), start));
}
await browser.close();
desk.kill('SIGTERM');
rmSync(dir, { recursive: true, force: true });

const distDir = new URL('../dist/', import.meta.url);
const html = readFileSync(new URL('index.html', distDir), 'utf8');
const firstJs = [...html.matchAll(/src="\/(assets\/[^"]+\.js)"/g)].map((m) => m[1]);
const jsKb = firstJs.reduce((a, f) => a + gzipSync(readFileSync(new URL(f, distDir))).length, 0) / 1024;
const lazyKb = readdirSync(new URL('assets/', distDir)).filter((f) => f.endsWith('.js') && !firstJs.includes(`assets/${f}`)).reduce((a, f) => a + gzipSync(readFileSync(new URL(`assets/${f}`, distDir))).length, 0) / 1024;

const row = (what, value, target, unit) => `| ${what} | ${value.toFixed(unit === 'KB' ? 1 : 0)} ${unit} | ${target} ${unit} | ${(value / target).toFixed(2)} |`;
console.log(`seeded ${TICKETS} tickets (one with a ${(bundle.length / 1024 / 1024).toFixed(2)} MB bundle) in ${seedSecs.toFixed(1)} s`);
console.log('| what (median) | measured | target | ratio |');
console.log('|---|---|---|---|');
console.log(row('JavaScript on first load, gzip', jsKb, 150, 'KB'));
console.log(row(`queue interactive after navigation, ${TICKETS} tickets (5 cold loads)`, median(queue), 1000, 'ms'));
console.log(row('filter change to the new page drawn (10 changes)', median(filter), 200, 'ms'));
console.log(row('2 MB bundle: diagnostics tab to every chart drawn (5 opens)', median(diag), 1000, 'ms'));
console.log(row('live: a ticket filed to its row in an open queue (5 tickets)', median(live), 2000, 'ms'));
console.log(`desk: GET diagnostics of the 2 MB bundle, median ${Math.round(median(apiTimes))} ms`);
console.log(`charts loaded on demand: ${lazyKb.toFixed(1)} KB gzip; raw: queue ${queue.map(Math.round).join(', ')} ms; live ${live.join(', ')} ms; filter ${filter.map(Math.round).join(', ')} ms; diagnostics ${diag.map(Math.round).join(', ')} ms`);
