import { describe, expect, it } from 'vitest';
import {
  canRate, canReopen, conversation, fileSize, format, latest, overallKey, previewSections, refusals,
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
    const keys = previewSections({ device: {}, logs: [], metrics: { history: [] }, network: null }).map(([k]) => k);
    expect(keys).toEqual(['ui.preview.device', 'ui.preview.metrics']);
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
