import { describe, expect, it } from 'vitest';
import { duration, noteKey, verificationLines } from './verification';

const now = Date.parse('2026-12-03T12:00:00Z');
const none = {
  check_id: null, resolve_after_secs: null, watched_checks: [], watch_until: null, rating_opens_at: null, verified_at: null,
};

describe('verificationLines', () => {
  it('says which check opened a ticket and when the desk resolves it', () => {
    const v = { ...none, check_id: 'disk', resolve_after_secs: 3600, watched_checks: ['disk', 'mem'] };
    expect(verificationLines(v, now)).toEqual([
      { key: 'verify.opened_by', args: { check: 'disk' } },
      { key: 'verify.resolves_after_hours', args: { count: 1 } },
      { key: 'verify.watched', args: { checks: 'disk, mem' } },
    ]);
    expect(verificationLines({ ...v, resolve_after_secs: 1800 }, now)[1]).toEqual(
      { key: 'verify.resolves_after_minutes', args: { count: 30 } });
  });

  it('says when the device verified it and how long the fix is watched', () => {
    const v = {
      ...none, check_id: 'disk', resolve_after_secs: 3600, watched_checks: ['disk'],
      verified_at: '2026-12-03T11:00:00Z', watch_until: '2026-12-10T11:00:00Z',
    };
    expect(verificationLines(v, now).map((l) => l.key)).toEqual(
      ['verify.opened_by', 'verify.verified', 'verify.watched', 'verify.watching']);
  });

  it('leaves out a watch and a rating wait that are over', () => {
    const v = {
      ...none, watched_checks: ['mem'], watch_until: '2026-12-04T12:00:00Z', rating_opens_at: '2026-12-04T12:00:00Z',
    };
    expect(verificationLines(v, now).map((l) => l.key)).toEqual(['verify.watched', 'verify.watching', 'verify.rating_waits']);
    expect(verificationLines(v, Date.parse('2026-12-05T00:00:00Z')).map((l) => l.key)).toEqual(['verify.watched']);
  });
});

describe('duration', () => {
  it('uses hours when whole, else minutes', () => {
    expect(duration(7200)).toEqual({ n: 2, unit: 'hours' });
    expect(duration(90)).toEqual({ n: 2, unit: 'minutes' });
  });
});

describe('noteKey', () => {
  it('words the known kinds and leaves others to the desk text', () => {
    expect(noteKey({ kind: 'relapsed', check_id: 'disk', at: '2026-12-03T11:00:00Z' })).toBe('note.relapsed');
    expect(noteKey({ kind: 'unknown', check_id: 'disk', at: '2026-12-03T11:00:00Z' })).toBe(null);
    expect(noteKey(null)).toBe(null);
  });
});
