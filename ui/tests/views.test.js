import { describe, expect, it } from 'vitest';
import {
  DESK_NOTES, canRate, canReopen, conversation, dayCharts, ratingWaits, fileSize, format, latest, overallKey, readablePreview, refusals,
  sparkline, summaryText, syncKey, ticketRow, validateReport,
} from '../src/views.js';

describe('format', () => {
  it('fills placeholders and leaves unknown ones', () => {
    expect(format('#{number} · {x}', { number: 12 })).toBe('#12 · {x}');
  });
});

describe('validateReport', () => {
  it('asks for subject, category and urgency', () => {
    expect(validateReport({ subject: '  ', category: '', urgency: undefined })).toEqual({
      subject: 'ui.validation.subject',
      category: 'ui.validation.category',
      urgency: 'ui.validation.urgency',
    });
  });
  it('counts characters, not bytes, for the 200 limit', () => {
    const ok = { subject: '프'.repeat(200), category: 'printer', urgency: 'high' };
    expect(validateReport(ok)).toEqual({});
    expect(validateReport({ ...ok, subject: 'x'.repeat(201) }).subject).toBe('ui.validation.subject_long');
  });
  it('takes an incident or a service request, nothing else', () => {
    const ok = { subject: 'Need Figma', category: 'software', urgency: 'low' };
    expect(validateReport({ ...ok, ticket_type: 'service_request' })).toEqual({});
    expect(validateReport({ ...ok, ticket_type: 'incident' })).toEqual({});
    expect(validateReport({ ...ok, ticket_type: 'problem' })).toEqual({ kind: 'ui.validation.kind' });
  });
});

describe('tickets', () => {
  const base = { local_id: 't-1', subject: 'VPN', status: 'new', unread: 0, server_id: null, server: null };
  it('shows queued tickets as waiting', () => {
    expect(ticketRow({ ...base, delivery: 'queued' }).statusKey).toBe('ui.tickets.queued');
    expect(ticketRow({ ...base, delivery: 'acknowledged', status: 'open', server_id: 4 })).toMatchObject({
      statusKey: 'ticket.status.open', number: 4,
    });
  });
  it('marks whose message is whose and when rating and reopening apply', () => {
    const server = {
      status: 'resolved',
      comments: [
        { author: 'employee', body: 'still broken', created_at: '2026-11-21T10:00:00Z' },
        { author: 'technician', body: 'fixed', created_at: '2026-11-21T11:00:00Z' },
      ],
    };
    const t = { ...base, server };
    expect(conversation(t).map((m) => m.mine)).toEqual([true, false]);
    expect(canRate(t)).toBe(true);
    expect(canReopen(t)).toBe(true);
    expect(canRate({ ...t, server: { ...server, status: 'open' } })).toBe(false);
    expect(canReopen({ ...t, server: { ...server, status: 'closed' } })).toBe(true);
    expect(canReopen({ ...t, server: { ...server, status: 'pending' } })).toBe(false);
    expect(conversation(base)).toEqual([]);
  });

  it('words the desk\'s own notes by kind, with the check\'s title', () => {
    const note = (kind) => ({ author: 'technician', body: `English ${kind}`, created_at: '2026-12-03T10:00:00Z',
      note: { kind, check_id: 'disk', at: '2026-12-03T09:00:00Z' } });
    const t = { ...base, server: { status: 'resolved', comments: [note('verified_by_device'), note('relapsed'), note('from_the_future')] } };
    const [verified, relapsed, unknown] = conversation(t, { disk: 'ディスクの空き容量' });
    expect(verified).toMatchObject({ mine: false, desk: true,
      note: { key: 'ui.tickets.note.verified_by_device', args: { check: 'ディスクの空き容量', time: '2026-12-03T09:00:00Z' } } });
    expect(relapsed.note.key).toBe('ui.tickets.note.relapsed');
    // A kind this tray does not know: the desk's English text.
    expect(unknown).toMatchObject({ desk: true, note: null, body: 'English from_the_future' });
    // No title known: the check's id.
    expect(conversation(t)[0].note.args.check).toBe('disk');
    expect(DESK_NOTES).toEqual(['verified_by_device', 'failed_again', 'relapsed']);
  });

  it('holds the rating back while the desk watches the fix', () => {
    const now = Date.parse('2026-12-03T12:00:00Z');
    const watched = { ...base, server: { status: 'resolved', comments: [], rating_opens_at: '2026-12-04T12:00:00Z' } };
    expect(canRate(watched, now)).toBe(false);
    expect(ratingWaits(watched, now)).toBe('2026-12-04T12:00:00Z');
    const later = Date.parse('2026-12-04T12:00:01Z');
    expect(canRate(watched, later)).toBe(true);
    expect(ratingWaits(watched, later)).toBe(null);
    // Reopened meanwhile: no rating, and nothing waits.
    const reopened = { ...watched, server: { ...watched.server, status: 'open' } };
    expect(canRate(reopened, later)).toBe(false);
    expect(ratingWaits(reopened, now)).toBe(null);
  });

  it('says what the desk refused and why', () => {
    const t = {
      refused: [
        { kind: 'rating', error: 'a ticket can be rated once, after it was resolved', failed_at: '2026-12-02T10:00:00Z' },
        { kind: 'mystery', error: 'no', failed_at: '2026-12-02T09:00:00Z' },
      ],
    };
    expect(refusals(t)).toEqual([
      { key: 'ui.tickets.refused.rating', reason: 'a ticket can be rated once, after it was resolved', at: '2026-12-02T10:00:00Z' },
      { key: 'ui.tickets.refused.other', reason: 'no', at: '2026-12-02T09:00:00Z' },
    ]);
    expect(refusals({})).toEqual([]);
  });
});

describe('preview and health', () => {
  it('lists only the sections the bundle has', () => {
    const ids = readablePreview({ device: {}, logs: [], metrics: { history: [] }, network: null }).map((s) => s.id);
    expect(ids).toEqual(['device']);
  });
  it('names the overall state and the sync state', () => {
    expect(overallKey({ overall: 'critical' })).toBe('ui.health.overall.critical');
    expect(overallKey({ overall: null })).toBe('ui.health.overall.none');
    expect(syncKey({ server: null })).toBe('ui.about.not_enrolled');
    expect(syncKey({ server: 'https://d', needs_enrollment: true })).toBe('ui.sync.needs_enrollment');
    expect(syncKey({ server: 'https://d', last_error: 'down' })).toBe('ui.sync.offline');
    expect(syncKey({ server: 'https://d', last_error: null })).toBe('ui.sync.online');
  });
  it('copies the device summary with translated labels', () => {
    expect(summaryText([['ui.device.model', 'X1'], ['ui.device.serial', 'S9']], { 'ui.device.model': 'モデル' }))
      .toBe('モデル: X1\nui.device.serial: S9');
  });
});

describe('charts', () => {
  it('draws percentages bottom-up and breaks at gaps', () => {
    expect(sparkline([0, 100], 100, 40)).toBe('M0.0 40.0 L100.0 0.0');
    expect(sparkline([50, null, 150], 100, 40)).toBe('M0.0 20.0 M100.0 0.0');
    expect(sparkline([], 100, 40)).toBe('');
    expect(sparkline([25], 100, 40)).toBe('M0.0 30.0 L100.0 30.0');
  });
  it('reads the last known value', () => {
    expect(latest([10.4, 20.6, null])).toBe(21);
    expect(latest([null])).toBe(null);
  });
});

describe('fileSize', () => {
  it('uses bytes, kilobytes and megabytes in the locale', () => {
    expect(fileSize(812, 'en')).toBe('812B');
    expect(fileSize(14_300, 'en')).toBe('14 kB');
    expect(fileSize(3_240_000, 'en')).toBe('3.2 MB');
    expect(fileSize(3_240_000, 'ko')).toBe('3.2MB');
  });
});

describe('readablePreview', () => {
  const bundle = {
    software_count: 1234,
    device: { device: { hostname: 'pc-7' }, os: { name: 'Debian', long_name: 'Debian GNU/Linux 12' },
      hardware: { system: { vendor: 'LENOVO', model: 'T14' }, memory: { total_bytes: 16 * 2 ** 30 } } },
    software_changes: [{ seen_at: 't', changes: {} }],
    check_results: [
      { check_id: 'disk', alert_state: 'critical' }, { check_id: 'mem', alert_state: 'ok' },
    ],
    metrics: {
      current: { memory: { total_bytes: 1000, used_bytes: 500 } },
      rollups: [{ cpu_avg_percent: 10, memory_used_avg_bytes: 250 }],
      history: [{ cpu: { usage_percent: 30 }, memory: { total_bytes: 1000, used_bytes: 750 } }],
    },
    processes: { by_cpu: [{ name: 'firefox', cpu_percent: 42.4, memory_bytes: 2 ** 31 }], by_memory: [] },
    network: { interfaces: [{ name: 'lo', ipv4: [{ address: '127.0.0.1' }] }, { name: 'wlan0', ipv4: [{ address: '10.0.0.7' }], ipv6: [] }],
      default_route: { interface: 'wlan0', gateway: '10.0.0.1' }, dns_servers: ['10.0.0.1'], desk: { url: 'https://desk', reachable: false } },
    logs: ['a', 'b', 'c', 'd'],
    config: { desk: { server_url: 'https://desk' } },
  };

  it('reads every part as a few lines, in order', () => {
    const s = readablePreview(bundle, [{ title: 'Disk space', message: '/: 3% free' }]);
    expect(s.map((x) => x.id)).toEqual(['device', 'software_changes', 'checks', 'metrics', 'processes', 'network', 'logs', 'config']);
    expect(s[0].lines[0]).toEqual({ key: 'ui.preview.line.computer', args: { name: 'pc-7', os: 'Debian GNU/Linux 12' } });
    expect(s[0].lines.map((l) => l.args)).toContainEqual({ model: 'LENOVO T14' });
    expect(s[2].lines).toEqual([{ key: 'ui.preview.line.checks', args: { count: 2, failing: 1 } }, { text: 'Disk space: /: 3% free' }]);
    expect(s[4].lines[0].args).toEqual({ name: 'firefox', cpu: 42, memory: '2.0 GiB' });
    const net = s[5].lines;
    expect(net[0]).toEqual({ key: 'ui.preview.line.interface', args: { name: 'wlan0', addresses: '10.0.0.7' } });
    expect(net.at(-1).key).toBe('ui.preview.line.desk_down');
    expect(s[6].lines.slice(1).map((l) => l.text)).toEqual(['b', 'c', 'd']);
    expect(s[0].json).toBe(bundle.device);
  });

  it('marks what may be left out, and what is', () => {
    const s = readablePreview(bundle, [], ['logs']);
    expect(s.filter((x) => x.excludable).map((x) => x.id)).toEqual(['metrics', 'processes', 'logs']);
    expect(s.find((x) => x.id === 'logs').excluded).toBe(true);
    expect(s.find((x) => x.id === 'processes').excluded).toBe(false);
  });

  it('shows the process list of an idle machine too, so it can be left out', () => {
    // Nothing used CPU while the bundle was made: the list by memory is
    // still in the bundle (a CI run found the section, and its box, gone).
    const idle = { ...bundle, processes: { by_cpu: [], by_memory: [{ name: 'Xorg', cpu_percent: 0, memory_bytes: 2 ** 30 }] } };
    const procs = readablePreview(idle).find((x) => x.id === 'processes');
    expect(procs.excludable).toBe(true);
    expect(procs.lines).toEqual([{ key: 'ui.preview.line.process', args: { name: 'Xorg', cpu: 0, memory: '1.0 GiB' } }]);
    const none = { ...bundle, processes: { by_cpu: [], by_memory: [] } };
    expect(readablePreview(none).some((x) => x.id === 'processes')).toBe(false);
  });

  it('charts the day: rollups then the last hour, as percentages', () => {
    expect(dayCharts(bundle.metrics)).toEqual({ cpu: [10, 30], memory: [25, 75] });
    expect(dayCharts(undefined)).toEqual({ cpu: [], memory: [] });
  });
});
