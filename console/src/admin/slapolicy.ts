// An SLA policy as its form holds it (targets in hours as typed,
// conditions as lists, escalations as rows) and back; and moving a
// policy up or down the order. Pure functions, tested with Vitest.
import type { Schemas } from '../lib/api/client.svelte';
import { hoursToMinutes, minutesToHours } from '../sla/sla';

type Status = NonNullable<Schemas['SlaPausesInput']['first_response']>[number];
type Clock = Schemas['SlaClock'];

export interface EscalationForm {
  on: 'warning' | 'breach';
  clocks: Clock[];
  notify: boolean;
  raise_tier: boolean;
  raise_priority: boolean;
  move_to_team: string;
}

export interface PolicyForm {
  name: string;
  calendarId: string;
  firstResponse: string;
  resolution: string;
  nextResponse: string;
  warnPercent: number;
  types: Schemas['TicketType'][];
  priorities: number[];
  categories: Schemas['TicketCategory'][];
  teams: number[];
  pauses: Record<Clock, Status[]>;
  escalations: EscalationForm[];
}

export const PAUSABLE: Status[] = ['new', 'open', 'pending'];

export function blankPolicy(): PolicyForm {
  return {
    name: '',
    calendarId: '',
    firstResponse: '',
    resolution: '',
    nextResponse: '',
    warnPercent: 75,
    types: [],
    priorities: [],
    categories: [],
    teams: [],
    pauses: { first_response: [], resolution: ['pending'], next_response: ['pending'] },
    escalations: [],
  };
}

export function blankEscalation(): EscalationForm {
  return { on: 'breach', clocks: [], notify: true, raise_tier: false, raise_priority: false, move_to_team: '' };
}

export function fromPolicy(p: Schemas['SlaPolicy']): PolicyForm {
  return {
    name: p.name,
    calendarId: p.calendar_id == null ? '' : String(p.calendar_id),
    firstResponse: minutesToHours(p.first_response_minutes),
    resolution: minutesToHours(p.resolution_minutes),
    nextResponse: minutesToHours(p.next_response_minutes),
    warnPercent: p.warn_percent,
    types: [...p.conditions.types],
    priorities: [...p.conditions.priorities],
    categories: [...p.conditions.categories],
    teams: [...p.conditions.teams],
    pauses: { first_response: [...p.pauses.first_response], resolution: [...p.pauses.resolution], next_response: [...p.pauses.next_response] },
    escalations: p.escalations.map((e) => ({
      on: e.on,
      clocks: [...e.clocks],
      notify: e.notify,
      raise_tier: e.raise_tier,
      raise_priority: e.raise_priority,
      move_to_team: e.move_to_team == null ? '' : String(e.move_to_team),
    })),
  };
}

/** The desk's body, or the catalog key of what is wrong. */
export function toPolicyInput(f: PolicyForm): { input: Schemas['SlaPolicyInput'] } | { bad: string } {
  if (!f.name.trim()) return { bad: 'sla_admin.need_name' };
  const first = hoursToMinutes(f.firstResponse);
  const resolution = hoursToMinutes(f.resolution);
  const next = hoursToMinutes(f.nextResponse);
  if (first === undefined || resolution === undefined || next === undefined) return { bad: 'sla_admin.bad_target' };
  if (first === null && resolution === null && next === null) return { bad: 'sla_admin.need_target' };
  if (!Number.isInteger(f.warnPercent) || f.warnPercent < 1 || f.warnPercent > 99) return { bad: 'sla_admin.bad_warn' };
  return {
    input: {
      name: f.name.trim(),
      calendar_id: f.calendarId ? Number(f.calendarId) : null,
      first_response_minutes: first,
      resolution_minutes: resolution,
      next_response_minutes: next,
      warn_percent: f.warnPercent,
      conditions: { types: f.types, priorities: f.priorities, categories: f.categories, teams: f.teams },
      pauses: f.pauses,
      escalations: f.escalations.map((e) => ({
        on: e.on,
        clocks: e.clocks,
        notify: e.notify,
        raise_tier: e.raise_tier,
        raise_priority: e.raise_priority,
        move_to_team: e.move_to_team ? Number(e.move_to_team) : null,
      })),
    },
  };
}

/** The ids in their new order after moving one a step up (-1) or down (+1). */
export function moved(ids: number[], id: number, step: -1 | 1): number[] {
  const i = ids.indexOf(id);
  const j = i + step;
  if (i < 0 || j < 0 || j >= ids.length) return ids;
  const out = [...ids];
  [out[i], out[j]] = [out[j], out[i]];
  return out;
}

/** A list with a value added or taken out (checkbox groups). */
export function toggled<T>(list: T[], value: T, on: boolean): T[] {
  return on ? (list.includes(value) ? list : [...list, value]) : list.filter((v) => v !== value);
}
