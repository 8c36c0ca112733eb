// The KPI dashboard's state in the URL (period and split, so a report can
// be bookmarked and sent), the desk's query, and the figures as read.
// Pure functions, tested with Vitest.
import type { Schemas } from '../lib/api/client.svelte';

export const GROUPS = ['team', 'technician', 'category', 'priority', 'type'] as const;
export type Group = (typeof GROUPS)[number];
export const PRESETS = [7, 30, 90, 365] as const;

export interface KpiView {
  from: string;
  to: string;
  group: Group | '';
}

const DAY = /^\d{4}-\d{2}-\d{2}$/;

function isDay(v: string | null): v is string {
  return v !== null && DAY.test(v) && !Number.isNaN(Date.parse(`${v}T00:00:00Z`)) && new Date(`${v}T00:00:00Z`).toISOString().startsWith(v);
}

/** A UTC day, `n` days after `day`. */
export function addDays(day: string, n: number): string {
  return new Date(Date.parse(`${day}T00:00:00Z`) + n * 86_400_000).toISOString().slice(0, 10);
}

/** The period the URL names; without one, the 30 days up to and including today (UTC). */
export function fromSearch(search: string, now: number = Date.now()): KpiView {
  const p = new URLSearchParams(search);
  const today = new Date(now).toISOString().slice(0, 10);
  const to = isDay(p.get('to')) ? (p.get('to') as string) : addDays(today, 1);
  let from = isDay(p.get('from')) ? (p.get('from') as string) : addDays(to, -30);
  if (from >= to) from = addDays(to, -1);
  const g = p.get('group_by') ?? '';
  return { from, to, group: (GROUPS as readonly string[]).includes(g) ? (g as Group) : '' };
}

export function toSearch(v: KpiView): string {
  const p = new URLSearchParams({ from: v.from, to: v.to });
  if (v.group) p.set('group_by', v.group);
  return `?${p.toString()}`;
}

/** The last `days` days up to and including today. */
export function preset(days: number, now: number = Date.now()): Pick<KpiView, 'from' | 'to'> {
  const to = addDays(new Date(now).toISOString().slice(0, 10), 1);
  return { from: addDays(to, -days), to };
}

/** The desk's query (GET /api/v1/reports/kpis). */
export function apiQuery(v: KpiView): { from: string; to: string; group_by?: string } {
  return v.group ? { from: v.from, to: v.to, group_by: v.group } : { from: v.from, to: v.to };
}

/** The CSV export's address: one row per group, or one per day. */
export function csvHref(v: KpiView, table: 'figures' | 'series'): string {
  const p = new URLSearchParams({ ...apiQuery(v), format: 'csv', table });
  return `/api/v1/reports/kpis?${p.toString()}`;
}

/** A share for display: null when nothing was counted (not 0 %). */
export function share(r: Schemas['Rate'] | undefined): number | null {
  return r && r.of > 0 && r.rate !== null && r.rate !== undefined ? r.rate : null;
}

/** SLA compliance over every clock: all met ÷ all met and breached. */
export function overallCompliance(sla: Schemas['Compliance'][]): number | null {
  const met = sla.reduce((a, c) => a + c.met, 0);
  const breached = sla.reduce((a, c) => a + c.breached, 0);
  return met + breached > 0 ? met / (met + breached) : null;
}

/** The per-day series as uPlot data: [day starts (unix s), created, resolved]. */
export function volumeSeries(days: Schemas['Day'][]): [number[], number[], number[]] {
  return [days.map((d) => Date.parse(`${d.day}T00:00:00Z`) / 1000), days.map((d) => d.created), days.map((d) => d.resolved)];
}

/** The per-day SLA compliance (0–100 %; null on a day without met or breached clocks). */
export function complianceSeries(days: Schemas['Day'][]): [number[], (number | null)[]] {
  return [
    days.map((d) => Date.parse(`${d.day}T00:00:00Z`) / 1000),
    days.map((d) => (d.sla_met + d.sla_breached > 0 ? (100 * d.sla_met) / (d.sla_met + d.sla_breached) : null)),
  ];
}

/** The backlog's age buckets, in order, with their catalog keys. */
export function backlogBuckets(b: Schemas['Backlog']): { key: string; count: number }[] {
  return [
    { key: 'kpi.age.under_1d', count: b.under_1d },
    { key: 'kpi.age.1d_3d', count: b.from_1d_to_3d },
    { key: 'kpi.age.3d_10d', count: b.from_3d_to_10d },
    { key: 'kpi.age.10d_30d', count: b.from_10d_to_30d },
    { key: 'kpi.age.over_30d', count: b.over_30d },
  ];
}
