import { describe, expect, it } from 'vitest';
import en from '../i18n/en.json';
import { translate } from '../lib/i18n.svelte';
import { checkTexts, entryText, filterSoftware, timeline } from './changes';
import { deviceCharts, rangeQuery } from './metrics';
import { EMPTY, csv, csvCell, fromSearch, toApiQuery, toSearch } from './query';

const t = (key: string, vars?: Record<string, string | number>) => translate(en, 'en', key, vars);

describe('device filters in the URL', () => {
  it('round-trip, in a stable order, leaving defaults out', () => {
    const f = { ...EMPTY, software: 'openssl', version: '3.0.13', op: 'older' as const, health: 'critical', unseen: '7' };
    const s = toSearch(f);
    expect(s).toBe('?software=openssl&version=3.0.13&op=older&health=critical&unseen=7');
    expect(fromSearch(s)).toEqual(f);
    expect(toSearch(EMPTY)).toBe('');
  });

  it('ignore what is not valid', () => {
    expect(fromSearch('?health=purple&unseen=3&op=newer&search=pc')).toEqual({ ...EMPTY, search: 'pc' });
    expect(fromSearch(`?search=${'x'.repeat(300)}`)).toEqual(EMPTY);
  });

  it('become the API query: older than or exact, and not seen since', () => {
    const now = Date.parse('2026-12-02T12:00:00Z');
    expect(toApiQuery({ ...EMPTY, software: 'openssl', version: '3.0.13', op: 'older' }, now)).toEqual({
      software: 'openssl',
      software_older_than: '3.0.13',
    });
    expect(toApiQuery({ ...EMPTY, software: 'openssl', version: '3.0.13' }, now)).toEqual({ software: 'openssl', software_version: '3.0.13' });
    // A version without a package means nothing.
    expect(toApiQuery({ ...EMPTY, version: '1' }, now)).toEqual({});
    expect(toApiQuery({ ...EMPTY, unseen: '7' }, now)).toEqual({ seen_before: '2026-11-25T12:00:00.000Z' });
  });
});

describe('CSV export', () => {
  it('quotes as RFC 4180 says and ends lines with CRLF', () => {
    expect(csv([['a', 'b,c'], ['say "hi"', 'x\ny'], [1, null]])).toBe('a,"b,c"\r\n"say ""hi""","x\ny"\r\n1,\r\n');
  });

  it('never lets a device name run as a spreadsheet formula', () => {
    expect(csvCell('=HYPERLINK("http://evil")')).toBe(`"'=HYPERLINK(""http://evil"")"`);
    expect(csvCell('+1')).toBe("'+1");
    expect(csvCell('-x')).toBe("'-x");
    expect(csvCell('@SUM(A1)')).toBe("'@SUM(A1)");
    expect(csvCell('pc-01')).toBe('pc-01');
  });
});

describe('device metrics', () => {
  const times = [0, 60, 120];
  const series = (name: string, kind: string, instance: string | null, v: (number | null)[], unit = 'percent') => ({
    name,
    kind,
    instance,
    unit,
    min: v.map((x) => (x === null ? null : x - 1)),
    avg: v,
    max: v.map((x) => (x === null ? null : x + 1)),
  });

  it('chart single series with min, avg and max, and instances by name', () => {
    const charts = deviceCharts(
      {
        step: 60,
        times,
        series: [
          series('cpu', 'cpu', null, [10, null, 30]),
          series('net_rx:eth0', 'net_rx', 'eth0', [1, 2, 3], 'bytes_per_second'),
          series('volume_used:/', 'volume_used', '/', [50, 50, 51]),
          series('memory_used', 'memory_used', null, [5, 6, 7], 'bytes'),
        ],
      },
      t,
    );
    expect(charts.map((c) => c.key)).toEqual(['cpu', 'memory', 'disk', 'network']);
    const cpu = charts[0];
    expect(cpu.labels).toEqual(['CPU use, lowest', 'CPU use, average', 'CPU use, highest']);
    expect(cpu.data).toEqual([times, [9, null, 29], [10, null, 30], [11, null, 31]]);
    expect(charts[1].unit).toBe('B');
    // A volume shows its fullest moment in each bucket.
    expect(charts[2]).toMatchObject({ labels: ['/'], data: [times, [51, 51, 52]] });
    expect(charts[3].labels).toEqual(['eth0 received']);
  });

  it('ask for whole minutes ending now', () => {
    const q = rangeQuery('24h', Date.parse('2026-12-02T12:00:30Z'));
    expect(q).toEqual({ from: '2026-12-01T12:01:00.000Z', to: '2026-12-02T12:01:00.000Z' });
  });
});

describe('inventory timeline', () => {
  it('reads as sentences, packages by name, fields after', () => {
    const days = timeline([
      {
        changed_at: '2026-12-01T10:00:00Z',
        diff: {
          software_added: [{ name: 'zsh', version: '5.9', source: 'dpkg' }],
          software_removed: [{ name: 'nano', version: null, source: 'dpkg' }],
          software_changed: [{ name: 'openssl', kind: 'upgraded', old_version: '3.0.11', new_version: '3.0.13', source: 'dpkg' }],
          system_changes: [{ path: 'hardware.memory.total_bytes', old: 8, new: 16 }],
        },
      },
    ]);
    expect(days[0].entries.map((e) => entryText(e, t))).toEqual([
      'Removed nano –',
      'Upgraded openssl from 3.0.11 to 3.0.13',
      'Installed zsh 5.9',
      'hardware.memory.total_bytes: 8 → 16',
    ]);
  });

  it('finds how to fix a check in any language, and filters software', () => {
    const texts = checkTexts([{ id: 'disk', title: { en: 'Disk', ja: 'ディスク' }, remediation: 'Empty the trash' }, 'junk', { title: 'no id' }], 'ja');
    expect([...texts.entries()]).toEqual([['disk', { title: 'ディスク', fix: 'Empty the trash' }]]);
    expect(filterSoftware([{ name: 'OpenSSL' }, { name: 'curl' }, { name: 'libssl3' }], 'SSL').map((p) => p.name)).toEqual(['libssl3', 'OpenSSL']);
  });
});

describe('software catalogue', () => {
  it('keeps the search in the URL and names packages safely in paths', async () => {
    const { packageFromPath, packagePath, searchOf, searchString } = await import('../software/catalogue');
    expect(searchOf(searchString('open ssl'))).toBe('open ssl');
    expect(searchString('')).toBe('');
    expect(packagePath('g++-12')).toBe('/software/g%2B%2B-12');
    expect(packageFromPath(packagePath('Microsoft Visual C++ 2015 / x64'))).toBe('Microsoft Visual C++ 2015 / x64');
    expect(packageFromPath('/software/%E0%A4%A')).toBeNull();
    expect(packageFromPath('/devices/1')).toBeNull();
  });

  it('links a package version to its devices, or to older ones', async () => {
    const { packageSearch } = await import('./query');
    expect(packageSearch('openssl')).toBe('?software=openssl&exact=1');
    expect(packageSearch('openssl', '3.0.13', true)).toBe('?software=openssl&exact=1&version=3.0.13&op=older');
    const f = fromSearch(packageSearch('openssl', '3.0.13'));
    expect(toApiQuery(f, 0)).toEqual({ software: 'openssl', software_exact: true, software_version: '3.0.13' });
  });
});

describe('fleet overview', () => {
  it('counts every health state, worst first, and charts tickets beside failures', async () => {
    const { activityChart, healthCounts } = await import('../fleet/overview');
    const fleet = {
      by_health: [
        { name: 'ok', devices: 5 },
        { name: 'critical', devices: 1 },
      ],
      offline: 0,
      unseen_7d: 0,
      unseen_devices: [],
      by_agent_version: [],
      failing_checks: [],
      days: [
        { day: '2026-12-01', tickets: 2, failures: 1 },
        { day: '2026-12-02', tickets: 0, failures: 3 },
      ],
    };
    expect(healthCounts(fleet)).toEqual([
      { state: 'critical', devices: 1 },
      { state: 'warning', devices: 0 },
      { state: 'unknown', devices: 0 },
      { state: 'ok', devices: 5 },
    ]);
    const c = activityChart(fleet, t);
    expect(c.labels).toEqual(['Tickets filed', 'Checks that started failing']);
    expect(c.data).toEqual([[Date.parse('2026-12-01T00:00:00Z') / 1000, Date.parse('2026-12-02T00:00:00Z') / 1000], [2, 0], [1, 3]]);
  });

  it('puts a failing check in the device filters', () => {
    expect(toApiQuery(fromSearch('?failing=disk-free'), 0)).toEqual({ failing_check: 'disk-free' });
  });
});
