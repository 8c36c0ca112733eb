import { describe, expect, it } from 'vitest';
import { acceptBody, hostOf, incidentLine } from './candidates';

const candidate = {
  id: 3, name: 'libfoo', version: '2.0', state: 'proposed', problem_id: null,
  created_at: '2026-12-03T10:00:00Z', updated_at: '2026-12-03T10:00:00Z',
  devices: [
    { id: 1, hostname: 'pc-1', changed_at: '2026-12-03T00:00:00Z' },
    { id: 2, hostname: null, changed_at: '2026-12-03T00:00:00Z' },
  ],
  incidents: [
    { device_id: 1, at: '2026-12-03T05:00:00Z', ticket_id: 11, subject: 'Word crashes', check_id: null },
    { device_id: 2, at: '2026-12-03T06:00:00Z', ticket_id: null, subject: null, check_id: 'office' },
  ],
  others: [{ id: 7, hostname: 'pc-7', changed_at: null }],
};

// A catalog stand-in that shows the key and its arguments.
const t = (key: string, vars: Record<string, string | number> = {}) =>
  `${key}(${Object.entries(vars).map(([k, v]) => `${k}=${v}`).join(',')})`;

describe('candidates', () => {
  it('names devices by host, else by number', () => {
    expect(hostOf(candidate, 1)).toBe('pc-1');
    expect(hostOf(candidate, 2)).toBe('#2');
    expect(hostOf(candidate, 7)).toBe('pc-7');
  });

  it('words tickets and failing checks', () => {
    expect(incidentLine(candidate, candidate.incidents[0])).toEqual(
      { key: 'candidates.incident.ticket', args: { id: 11, subject: 'Word crashes', host: 'pc-1' } });
    expect(incidentLine(candidate, candidate.incidents[1])).toEqual(
      { key: 'candidates.incident.check', args: { check: 'office', host: '#2' } });
  });

  it('writes the problem in the technician\'s words, every incident listed', () => {
    const body = acceptBody(candidate, t);
    expect(body.subject).toBe('candidates.subject(name=libfoo,version=2.0,count=2)');
    expect(body.description.split('\n\n')).toEqual([
      'candidates.description(name=libfoo,version=2.0,count=2)',
      '- candidates.incident.ticket(id=11,subject=Word crashes,host=pc-1)\n- candidates.incident.check(check=office,host=#2)',
      'candidates.others_list(hosts=pc-7)',
    ]);
    const long = acceptBody({ ...candidate, name: 'x'.repeat(300) }, t);
    expect([...long.subject].length).toBe(200);
  });
});
