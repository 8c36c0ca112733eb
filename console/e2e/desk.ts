// A real desk and real agents for the browser tests: deskside-server on
// SQLite in a temp dir, an administrator with a password, this machine's
// deskside-agent enrolled twice (the second with its software scan limited
// to flatpak, which CI does not have, and no health checks run: different
// software and health), tickets the first filed with real diagnostics, and
// a day of its metrics.
import { execFileSync, spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

export const STATE_FILE = join(tmpdir(), 'deskside-e2e.json');

export interface Desk {
  url: string;
  dir: string;
  pid: number;
  email: string;
  password: string;
  token: string;
  tech: string;
  techToken: string;
  bin: string;
  tickets: { local: string; subject: string }[];
}

export function desk(): Desk {
  return JSON.parse(readFileSync(STATE_FILE, 'utf8')) as Desk;
}

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = createServer();
    s.listen(0, '127.0.0.1', () => {
      const a = s.address();
      s.close(() => (a && typeof a === 'object' ? resolve(a.port) : reject(new Error('no port'))));
    });
  });
}

export function agentEnv(d: Pick<Desk, 'dir'>, second = false): NodeJS.ProcessEnv {
  return {
    ...process.env,
    DESKSIDE_STATE_DIR: join(d.dir, second ? 'agent2' : 'agent'),
    DESKSIDE_CREDENTIAL_STORE: 'file',
    DESKSIDE_LOG: 'warn',
    ...(second ? { DESKSIDE_INVENTORY_SOFTWARE_SOURCES: 'flatpak' } : {}),
  };
}

/** Runs deskside-agent with the test's state directory. */
export function agent(d: Pick<Desk, 'dir' | 'bin'>, ...args: string[]): string {
  return execFileSync(join(d.bin, 'deskside-agent'), args, { env: agentEnv(d), encoding: 'utf8', timeout: 60_000 });
}

/** Runs the second deskside-agent. */
export function agent2(d: Pick<Desk, 'dir' | 'bin'>, ...args: string[]): string {
  return execFileSync(join(d.bin, 'deskside-agent'), args, { env: agentEnv(d, true), encoding: 'utf8', timeout: 60_000 });
}

/**
 * A day of the first agent's metrics: one real sample of this machine
 * (`deskside-agent metrics`), sent as the agent sends one with each
 * check-in, every minute, with a CPU spike three hours ago, through the
 * device API with the agent's own token.
 */
async function history(d: Desk): Promise<void> {
  const sample = JSON.parse(agent(d, 'metrics', '--format', 'json')) as Record<string, unknown> & { cpu?: { usage_percent: number } };
  delete sample.top_cpu;
  delete sample.top_memory;
  const token = readFileSync(join(d.dir, 'agent', 'device-token'), 'utf8').trim();
  const now = Date.now();
  const metrics = [];
  for (let age = 24 * 60; age >= 1; age -= 1) {
    const cpu = age === 180 ? 99 : 5 + ((age * 7) % 30);
    metrics.push({ ...sample, timestamp: new Date(now - age * 60_000).toISOString(), cpu: { usage_percent: cpu, per_core_percent: [] } });
  }
  const r = await fetch(`${d.url}/api/v1/agent/checkin`, {
    method: 'POST',
    headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
    body: JSON.stringify({ metrics }),
  });
  if (!r.ok) throw new Error(`check-in with history: ${r.status} ${await r.text()}`);
}

export async function start(): Promise<Desk> {
  const bin = process.env.DESKSIDE_BIN_DIR;
  if (!bin) throw new Error('DESKSIDE_BIN_DIR must name the directory of deskside-server and deskside-agent');
  const dir = mkdtempSync(join(tmpdir(), 'deskside-e2e-'));
  const server = join(bin, 'deskside-server');
  // The browser tests log in some forty times within minutes from one
  // address: above the default per-address limit, which its own tests cover.
  // SLA clocks are looked at every second, so that a warning the service
  // tests provoke reaches the console at once; webhooks may reach this
  // machine's loopback (the webhook test's receiver), which a desk refuses
  // unless its configuration allows it.
  const env = { ...process.env, DESKSIDE_DATA_DIR: join(dir, 'desk'), DESKSIDE_LOG: 'warn', DESKSIDE_LOGIN_PER_MINUTE: '600', DESKSIDE_SLA_INTERVAL: '1s', DESKSIDE_PROBLEM_CANDIDATE_INTERVAL: '2s', DESKSIDE_WEBHOOK_ALLOWED_NETWORKS: '127.0.0.0/8' };
  const email = 'admin@example.com';
  const password = 'correct horse battery';
  const tech = 'tech@example.com';
  execFileSync(server, ['user', 'create', '--email', email, '--role', 'admin', '--password-stdin'], { env, input: `${password}\n` });
  execFileSync(server, ['user', 'create', '--email', tech, '--role', 'technician', '--password-stdin'], { env, input: `${password}\n` });
  const token = execFileSync(server, ['token', 'create', '--email', email], { env, encoding: 'utf8' }).trim();
  const techToken = execFileSync(server, ['token', 'create', '--email', tech], { env, encoding: 'utf8' }).trim();
  const secret = execFileSync(server, ['enroll-secret', 'create', '--label', 'e2e'], { env, encoding: 'utf8' }).trim();
  const port = await freePort();
  const url = `http://127.0.0.1:${port}`;
  const child = spawn(server, ['serve', '--listen', `127.0.0.1:${port}`], { env, stdio: 'ignore', detached: true });
  child.unref();
  for (let i = 0; i < 200; i += 1) {
    try {
      if ((await fetch(`${url}/healthz`)).ok) break;
    } catch {
      /* not yet */
    }
    await new Promise((r) => setTimeout(r, 100));
  }
  const d: Desk = { url, dir, pid: child.pid ?? 0, email, password, token, tech, techToken, bin, tickets: [] };
  try {
    agent(d, 'check', '--notify');
  } catch {
    /* a failing check exits non-zero; the results are kept all the same */
  }
  agent(d, 'enroll', '--server', url, '--secret', secret);
  for (const [subject, category] of [
    ['Wi-Fi drops every few minutes', 'network'],
    ['Printer on floor 3 jams', 'printer'],
    ['Laptop is slow since the update', 'software'],
  ]) {
    const local = agent(d, 'ticket', 'new', '--subject', subject, '--description', `Reported in the browser test: ${subject}.`, '--category', category).trim();
    d.tickets.push({ local, subject });
  }
  agent(d, 'sync');
  await history(d);
  agent2(d, 'enroll', '--server', url, '--secret', secret);
  agent2(d, 'sync');
  writeFileSync(STATE_FILE, JSON.stringify(d));
  return d;
}
