// The queue's state as it lives in the URL: filters and sort, so that a
// view can be bookmarked and shared. Pure functions, tested with Vitest.
import { SLA_STATES } from '../sla/sla';

export const STATUSES = ['new', 'open', 'pending', 'resolved', 'closed'] as const;
export const CATEGORIES = ['hardware', 'software', 'network', 'account', 'printer', 'other'] as const;
export const SORTS = ['newest', 'oldest', 'priority', 'due'] as const;
export const TYPES = ['incident', 'service_request'] as const;
export const CHANNELS = ['phone', 'walk_in', 'email', 'chat', 'tray'] as const;
export type Status = (typeof STATUSES)[number];
export type Sort = (typeof SORTS)[number];

/** Statuses still to be worked on. */
export const ACTIVE = 'new,open,pending';

export interface QueueFilters {
  status: string;
  priority: string;
  assignee: string;
  tier: string;
  category: string;
  device: string;
  team: string;
  type: string;
  sla: string;
  requester: string;
  text: string;
  sort: Sort;
}

export const EMPTY: QueueFilters = {
  status: '',
  priority: '',
  assignee: '',
  tier: '',
  category: '',
  device: '',
  team: '',
  type: '',
  sla: '',
  requester: '',
  text: '',
  sort: 'newest',
};

const KEYS = ['status', 'priority', 'assignee', 'tier', 'category', 'device', 'team', 'type', 'sla', 'requester', 'text', 'sort'] as const;

function valid(key: (typeof KEYS)[number], v: string): boolean {
  switch (key) {
    case 'status':
      return v.split(',').every((s) => (STATUSES as readonly string[]).includes(s));
    case 'priority':
      return /^[1-5]$/.test(v);
    case 'tier':
      return /^[1-3]$/.test(v);
    case 'category':
      return (CATEGORIES as readonly string[]).includes(v);
    case 'device':
      return /^\d{1,15}$/.test(v);
    case 'team':
      return v === 'none' || /^\d{1,15}$/.test(v);
    case 'type':
      return (TYPES as readonly string[]).includes(v);
    case 'sla':
      return v.split(',').every((s) => s === 'none' || (SLA_STATES as readonly string[]).includes(s));
    case 'requester':
      return v.length <= 254;
    case 'sort':
      return (SORTS as readonly string[]).includes(v);
    case 'assignee':
      return v.length <= 254;
    case 'text':
      return v.length <= 256;
  }
}

/** The filters a query string names; anything invalid is ignored. */
export function fromSearch(search: string): QueueFilters {
  const p = new URLSearchParams(search);
  const f: QueueFilters = { ...EMPTY };
  for (const key of KEYS) {
    const v = p.get(key);
    if (v !== null && v !== '' && valid(key, v)) (f as unknown as Record<string, string>)[key] = v;
  }
  return f;
}

/** The query string of filters: only what differs from the default, in a stable order. */
export function toSearch(f: QueueFilters): string {
  const p = new URLSearchParams();
  for (const key of KEYS) {
    const v = f[key];
    if (v !== '' && v !== EMPTY[key]) p.set(key, v);
  }
  const s = p.toString();
  return s ? `?${s}` : '';
}

/** The API query of filters (what GET /api/v1/tickets takes). */
export function toApiQuery(f: QueueFilters): Record<string, string | number> {
  const q: Record<string, string | number> = {};
  if (f.status) q.status = f.status;
  if (f.priority) q.priority = Number(f.priority);
  if (f.assignee) q.assignee = f.assignee;
  if (f.tier) q.tier = Number(f.tier);
  if (f.category) q.category = f.category;
  if (f.device) q.device = Number(f.device);
  if (f.team) q.team = f.team;
  if (f.type) q.type = f.type;
  if (f.sla) q.sla = f.sla;
  if (f.requester) q.requester = f.requester;
  if (f.text.trim()) q.text = f.text.trim();
  if (f.sort !== 'newest') q.sort = f.sort;
  return q;
}

/** The views every technician has. */
export const BUILT_IN_VIEWS: { key: string; filters: Partial<QueueFilters> }[] = [
  { key: 'views.my_open', filters: { status: ACTIVE, assignee: 'me' } },
  { key: 'views.unassigned', filters: { status: ACTIVE, assignee: 'none' } },
  { key: 'views.waiting', filters: { status: 'pending' } },
  { key: 'views.sla_risk', filters: { status: ACTIVE, sla: 'warning,breached', sort: 'due' } },
];

export function viewSearch(filters: Partial<QueueFilters>): string {
  return toSearch({ ...EMPTY, ...filters });
}

/** j/k movement through the rows, staying inside the list. */
export function moveCursor(current: number, delta: number, length: number): number {
  if (length === 0) return -1;
  if (current < 0) return delta > 0 ? 0 : length - 1;
  return Math.min(length - 1, Math.max(0, current + delta));
}

/** The impact and urgency that give an ITIL priority (for bulk priority changes). */
export function priorityPair(priority: number): { impact: 'low' | 'medium' | 'high'; urgency: 'low' | 'medium' | 'high' } {
  switch (priority) {
    case 1:
      return { impact: 'high', urgency: 'high' };
    case 2:
      return { impact: 'high', urgency: 'medium' };
    case 3:
      return { impact: 'medium', urgency: 'medium' };
    case 4:
      return { impact: 'medium', urgency: 'low' };
    default:
      return { impact: 'low', urgency: 'low' };
  }
}

/** The ITIL priority of impact × urgency, as the desk computes it. */
export function itilPriority(impact: string, urgency: string): number {
  const rank = (v: string) => (v === 'high' ? 2 : v === 'medium' ? 1 : 0);
  return 5 - (rank(impact) + rank(urgency));
}

export interface Outcome {
  id: number;
  ok: boolean;
  code?: string;
}

/** How a bulk action went: counts, and the tickets it could not change. */
export function summarize(outcomes: Outcome[]): { done: number; failed: Outcome[] } {
  return { done: outcomes.filter((o) => o.ok).length, failed: outcomes.filter((o) => !o.ok) };
}
