import { describe, expect, it } from 'vitest';
import type { Schemas } from '../lib/api/client.svelte';
import { charts } from './series';
import { buildTimeline, filterLogs, problemChecks, processRows } from './timeline';

const bundle = {
  format_version: 2,
  created_at: '2026-12-01T12:00:00Z',
  agent_version: '0.1.0',
  software_changes: [
    {
      seen_at: '2026-11-28T09:00:00Z',
      changes: {
        software_added: [{ name: 'zoom', source: 'deb', version: '6.1' }],
        software_removed: [],
        software_changed: [{ name: 'openssl', source: 'deb', old_version: '3.0.11', new_version: '3.0.13' }],
        system_changes: [{ path: 'hardware.memory.total_bytes', old: 8, new: 16 }],
      },
    },
  ],
  transitions: [
    { check_id: 'disk_root', from: 'ok', to: 'critical', at: '2026-12-01T11:00:00Z', summary: '/: 2% free' },
    { check_id: 'firewall', from: null, to: 'warning', at: '2026-12-01T10:00:00Z', summary: 'off' },
  ],
  check_results: [
    { check_id: 'memory', state: 'ok', summary: 'fine', timestamp: '2026-12-01T11:59:00Z' },
    { check_id: 'disk_root', state: 'critical', summary: '/: 2% free', timestamp: '2026-12-01T11:59:00Z' },
    { check_id: 'load', state: 'warning', summary: 'busy', timestamp: '2026-12-01T11:59:00Z' },
  ],
  device: { hostname: 'lap-7', os: { boot_time: '2026-11-30T08:00:00Z' } },
  logs: [
    '2026-11-29T10:00:00Z INFO deskside_agent::runtime: new policy applied version=4',
    '2026-12-01T11:58:00Z WARN deskside_agent: desk unreachable',
    '2026-12-01T11:59:00Z INFO deskside_agent: checked in',
  ],
  processes: {
    by_cpu: [
      { pid: 2, name: 'chrome', cpu_percent: 80, memory_bytes: 100, command: 'chrome --token=***' },
      { pid: 3, name: 'zoom', cpu_percent: 10, memory_bytes: 900, command: 'zoom' },
    ],
    by_memory: [{ pid: 3, name: 'zoom', cpu_percent: 10, memory_bytes: 900, command: 'zoom' }],
  },
  metrics: {
    history: [
      { timestamp: '2026-12-01T11:58:00Z', cpu: { usage_percent: 50 }, memory: { total_bytes: 100, used_bytes: 25, available_bytes: 75, swap_total_bytes: 0, swap_used_bytes: 0 }, volumes: [{ mount_point: '/', total_bytes: 100, free_bytes: 2 }], network: [{ interface: 'eth0', rx_bytes_per_sec: 10, tx_bytes_per_sec: 1 }, { interface: 'wlan0', rx_bytes_per_sec: 5, tx_bytes_per_sec: 2 }] },
      { timestamp: '2026-12-01T11:59:00Z', cpu: { usage_percent: 70 } },
    ],
    current: null,
  },
} as unknown as Schemas['DiagnosticsBundle'];

describe('what changed before it broke', () => {
  it('puts every kind of change on one timeline, nearest to the filing first', () => {
    const t = buildTimeline(bundle);
    const first = t.find((e) => e.kind === 'check_first');
    expect(first).toMatchObject({ subject: 'firewall', to: 'warning' });
    expect(first?.from).toBeUndefined();
    expect(t.map((e) => e.kind).filter((k) => k !== 'check_first')).toEqual([
      'check_changed',
      'reboot',
      'policy',
      'software_added',
      'software_changed',
      'system_changed',
    ]);
    expect(t[0]).toMatchObject({ subject: 'disk_root', from: 'ok', to: 'critical' });
    expect(t.find((e) => e.kind === 'software_changed')).toMatchObject({ subject: 'openssl', from: '3.0.11', to: '3.0.13' });
    expect(t.find((e) => e.kind === 'policy')).toMatchObject({ to: '4' });
  });

  it('is empty for an empty bundle', () => {
    expect(buildTimeline({ format_version: 2 } as unknown as Schemas['DiagnosticsBundle'])).toEqual([]);
  });
});

describe('sections', () => {
  it('filters log lines by level and text', () => {
    expect(filterLogs(bundle.logs ?? [], 'warn', '')).toHaveLength(1);
    expect(filterLogs(bundle.logs ?? [], '', 'CHECKED')).toHaveLength(1);
    expect(filterLogs(bundle.logs ?? [], '', '')).toHaveLength(3);
  });

  it('lists each process once, sortable, marking redacted command lines', () => {
    expect(processRows(bundle, 'cpu').map((p) => p.pid)).toEqual([2, 3]);
    expect(processRows(bundle, 'memory').map((p) => p.pid)).toEqual([3, 2]);
    expect(processRows(bundle, 'cpu')[0].redacted).toBe(true);
  });

  it('puts failing checks first', () => {
    expect(problemChecks(bundle).map((c) => c.check_id)).toEqual(['disk_root', 'load', 'memory']);
  });

  it('turns the history into aligned chart columns with gaps', () => {
    const c = charts(bundle.metrics?.history ?? []);
    const cpu = c.find((x) => x.key === 'cpu')!;
    expect(cpu.data).toEqual([[Date.parse('2026-12-01T11:58:00Z') / 1000, Date.parse('2026-12-01T11:59:00Z') / 1000], [50, 70]]);
    expect(c.find((x) => x.key === 'memory')!.data[1]).toEqual([25, null]);
    expect(c.find((x) => x.key === 'disk')!.data[1]).toEqual([98, null]);
    expect(c.find((x) => x.key === 'network')!.data.slice(1)).toEqual([[15, null], [3, null]]);
    expect(c.find((x) => x.key === 'temperature')).toBeUndefined();
  });

  it('puts the rollups of the day before first, with their peaks', () => {
    const rollups = [
      { minute: '2026-12-01T10:00:00Z', samples: 6, cpu_avg_percent: 20, cpu_max_percent: 95, min_volume_free_percent: 10, temperature_max_celsius: 71 },
    ] as unknown as Schemas['MetricRollup'][];
    const c = charts(bundle.metrics?.history ?? [], null, rollups);
    const cpu = c.find((x) => x.key === 'cpu')!;
    expect(cpu.labels).toEqual(['cpu', 'peak']);
    expect(cpu.data[0][0]).toBe(Date.parse('2026-12-01T10:00:00Z') / 1000);
    expect(cpu.data[1]).toEqual([20, 50, 70]);
    expect(cpu.data[2]).toEqual([95, 50, 70]);
    expect(c.find((x) => x.key === 'memory')!.data[1]).toEqual([null, 25, null]);
    expect(c.find((x) => x.key === 'disk')!.data[1]).toEqual([90, 98, null]);
    expect(c.find((x) => x.key === 'temperature')!.data[1]).toEqual([71, null, null]);
  });
});

describe('chart legends', () => {
  it('are words from the catalogs, data left as it is', async () => {
    const { localizeLegends } = await import('./series');
    const ja = (await import('../i18n/ja.json')).default as Record<string, string>;
    const { translate } = await import('../lib/i18n.svelte');
    const out = localizeLegends(
      [{ key: 'disk', labels: ['fullest', '/home'], data: [[]], unit: '%' }, { key: 'network', labels: ['rx', 'tx'], data: [[]], unit: 'B/s' }],
      (k) => translate(ja, 'ja', k),
    );
    expect(out.map((c) => c.labels)).toEqual([
      ['最も使用率の高いボリューム', '/home'],
      ['受信', '送信'],
    ]);
  });
});
