import { describe, expect, it } from 'vitest';
import { concerns, noticeKind, pushNotice, teamsOf } from './notices';

describe('SLA notices', () => {
  it('come from SLA events only', () => {
    expect(noticeKind('sla.warning')).toBe('warning');
    expect(noticeKind('sla.breach')).toBe('breach');
    expect(noticeKind('ticket.updated')).toBeNull();
  });

  it('reach the assignee, or the team of an unassigned ticket', () => {
    expect(concerns({ assigneeEmail: 'me@x.org', teamId: 1 }, 'me@x.org', [])).toBe(true);
    expect(concerns({ assigneeEmail: 'other@x.org', teamId: 1 }, 'me@x.org', [1])).toBe(false);
    expect(concerns({ assigneeEmail: null, teamId: 1 }, 'me@x.org', [1])).toBe(true);
    expect(concerns({ assigneeEmail: null, teamId: 2 }, 'me@x.org', [1])).toBe(false);
    expect(concerns({ assigneeEmail: null, teamId: null }, 'me@x.org', [1])).toBe(false);
  });

  it('know the teams a technician is in', () => {
    const teams = [
      { id: 1, members: [{ email: 'me@x.org' }] },
      { id: 2, members: [{ email: 'other@x.org' }] },
    ];
    expect(teamsOf(teams, 'me@x.org')).toEqual([1]);
  });

  it('keep one notice per ticket and kind, newest first, bounded', () => {
    let list = pushNotice([], { key: '1:warning', kind: 'warning', ticketId: 1, subject: 'a' });
    list = pushNotice(list, { key: '2:breach', kind: 'breach', ticketId: 2, subject: 'b' });
    list = pushNotice(list, { key: '1:warning', kind: 'warning', ticketId: 1, subject: 'a' });
    expect(list.map((n) => n.key)).toEqual(['1:warning', '2:breach']);
    for (let i = 3; i < 10; i += 1) list = pushNotice(list, { key: `${i}:breach`, kind: 'breach', ticketId: i, subject: '' }, 5);
    expect(list).toHaveLength(5);
  });
});
