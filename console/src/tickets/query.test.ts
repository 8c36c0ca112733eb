import { describe, expect, it } from 'vitest';
import {
  ACTIVE,
  BUILT_IN_VIEWS,
  EMPTY,
  fromSearch,
  itilPriority,
  moveCursor,
  priorityPair,
  summarize,
  toApiQuery,
  toSearch,
  viewSearch,
} from './query';

describe('queue filters in the URL', () => {
  it('round-trips every filter', () => {
    const f = { ...EMPTY, status: 'new,open', priority: '2', assignee: 'me', tier: '3', category: 'printer', device: '7', text: 'vpn down', sort: 'priority' as const };
    expect(fromSearch(toSearch(f))).toEqual(f);
  });

  it('round-trips the service-management filters and the due sort', () => {
    const f = { ...EMPTY, team: '4', type: 'service_request', sla: 'warning,breached', requester: 'ana@example.com', sort: 'due' as const };
    expect(fromSearch(toSearch(f))).toEqual(f);
    expect(toApiQuery(f)).toEqual({ team: '4', type: 'service_request', sla: 'warning,breached', requester: 'ana@example.com', sort: 'due' });
    expect(fromSearch('?team=none&sla=none').team).toBe('none');
    expect(fromSearch('?team=x&type=bug&sla=late')).toEqual(EMPTY);
  });

  it('writes nothing for the defaults, and a stable order', () => {
    expect(toSearch(EMPTY)).toBe('');
    expect(toSearch({ ...EMPTY, sort: 'oldest', status: 'new' })).toBe('?status=new&sort=oldest');
  });

  it('ignores what is not valid instead of sending it', () => {
    const f = fromSearch('?status=new,lost&priority=9&tier=0&category=cars&device=x&sort=random&text=ok');
    expect(f).toEqual({ ...EMPTY, text: 'ok' });
  });

  it('maps to the API query with numbers', () => {
    expect(toApiQuery({ ...EMPTY, priority: '1', tier: '2', device: '12', text: '  printer ', sort: 'priority' })).toEqual({
      priority: 1,
      tier: 2,
      device: 12,
      text: 'printer',
      sort: 'priority',
    });
    expect(toApiQuery(EMPTY)).toEqual({});
  });

  it('has the built-in views', () => {
    expect(BUILT_IN_VIEWS.map((v) => v.key)).toEqual(['views.my_open', 'views.unassigned', 'views.waiting', 'views.sla_risk']);
    expect(viewSearch(BUILT_IN_VIEWS[3].filters)).toBe(`?status=${encodeURIComponent('new,open,pending')}&sla=${encodeURIComponent('warning,breached')}&sort=due`);
    expect(viewSearch(BUILT_IN_VIEWS[0].filters)).toBe(`?status=${encodeURIComponent(ACTIVE)}&assignee=me`);
  });
});

describe('keyboard movement', () => {
  it('stays inside the list', () => {
    expect(moveCursor(-1, 1, 3)).toBe(0);
    expect(moveCursor(-1, -1, 3)).toBe(2);
    expect(moveCursor(2, 1, 3)).toBe(2);
    expect(moveCursor(0, -1, 3)).toBe(0);
    expect(moveCursor(1, 1, 3)).toBe(2);
    expect(moveCursor(0, 1, 0)).toBe(-1);
  });
});

describe('priorities', () => {
  it('bulk priority picks a pair that gives it back', () => {
    for (const p of [1, 2, 3, 4, 5]) {
      const { impact, urgency } = priorityPair(p);
      expect(itilPriority(impact, urgency)).toBe(p);
    }
  });

  it('matches the desk matrix', () => {
    expect(itilPriority('high', 'high')).toBe(1);
    expect(itilPriority('low', 'high')).toBe(3);
    expect(itilPriority('medium', 'low')).toBe(4);
  });

  it('summarises bulk outcomes per ticket', () => {
    expect(summarize([{ id: 1, ok: true }, { id: 2, ok: false, code: 'invalid_transition' }])).toEqual({
      done: 1,
      failed: [{ id: 2, ok: false, code: 'invalid_transition' }],
    });
  });
});
