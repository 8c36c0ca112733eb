import { describe, expect, it } from 'vitest';
import { blankEscalation, blankPolicy, fromPolicy, moved, toPolicyInput, toggled } from './slapolicy';

describe('an SLA policy form', () => {
  it('needs a name, a valid target and a warning share', () => {
    expect(toPolicyInput(blankPolicy())).toEqual({ bad: 'sla_admin.need_name' });
    expect(toPolicyInput({ ...blankPolicy(), name: 'P1' })).toEqual({ bad: 'sla_admin.need_target' });
    expect(toPolicyInput({ ...blankPolicy(), name: 'P1', firstResponse: 'soon' })).toEqual({ bad: 'sla_admin.bad_target' });
    expect(toPolicyInput({ ...blankPolicy(), name: 'P1', firstResponse: '1', warnPercent: 100 })).toEqual({ bad: 'sla_admin.bad_warn' });
  });

  it('sends targets in minutes and escalations with their team', () => {
    const f = { ...blankPolicy(), name: ' Critical ', firstResponse: '0.5', resolution: '8', priorities: [1], calendarId: '2', escalations: [{ ...blankEscalation(), move_to_team: '5', raise_tier: true }] };
    const r = toPolicyInput(f);
    expect('input' in r && r.input).toMatchObject({
      name: 'Critical',
      calendar_id: 2,
      first_response_minutes: 30,
      resolution_minutes: 480,
      next_response_minutes: null,
      conditions: { priorities: [1], types: [], categories: [], teams: [] },
      pauses: { first_response: [], resolution: ['pending'], next_response: ['pending'] },
      escalations: [{ on: 'breach', clocks: [], notify: true, raise_tier: true, raise_priority: false, move_to_team: 5 }],
    });
  });

  it('round-trips a policy from the desk', () => {
    const p = {
      id: 3,
      name: 'Requests',
      position: 2,
      calendar_id: null,
      first_response_minutes: 90,
      resolution_minutes: 2400,
      next_response_minutes: null,
      warn_percent: 80,
      conditions: { types: ['service_request' as const], priorities: [], categories: [], teams: [] },
      pauses: { first_response: [], resolution: ['pending' as const], next_response: [] },
      escalations: [],
    };
    const back = toPolicyInput(fromPolicy(p));
    expect('input' in back && back.input).toMatchObject({ first_response_minutes: 90, resolution_minutes: 2400, warn_percent: 80, conditions: p.conditions });
  });

  it('moves policies within the order and toggles lists', () => {
    expect(moved([1, 2, 3], 3, -1)).toEqual([1, 3, 2]);
    expect(moved([1, 2, 3], 1, -1)).toEqual([1, 2, 3]);
    expect(moved([1, 2, 3], 3, 1)).toEqual([1, 2, 3]);
    expect(toggled([1], 2, true)).toEqual([1, 2]);
    expect(toggled([1, 2], 1, false)).toEqual([2]);
    expect(toggled([1], 1, true)).toEqual([1]);
  });
});
