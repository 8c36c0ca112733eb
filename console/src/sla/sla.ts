// How SLA clocks read in the console: the queue's badge, a clock's share
// of its target, and business hours as a technician types them
// ("09:00-12:00, 13:00-17:00"). Pure functions, tested with Vitest.

export const SLA_STATES = ['running', 'warning', 'paused', 'met', 'breached'] as const;
export type SlaState = (typeof SLA_STATES)[number];
export const CLOCKS = ['first_response', 'resolution', 'next_response'] as const;
export type Clock = (typeof CLOCKS)[number];
export const DAYS = ['mon', 'tue', 'wed', 'thu', 'fri', 'sat', 'sun'] as const;
export type Day = (typeof DAYS)[number];
export type Week = Record<Day, [string, string][]>;

/** Whether the queue shows a badge for a state: only what asks for attention or says it is settled. */
export function badgeFor(state: string | null | undefined): SlaState | null {
  return state && (SLA_STATES as readonly string[]).includes(state) ? (state as SlaState) : null;
}

/** Whether a ticket's due time still matters (its SLA is counting or paused). */
export function dueMatters(state: string | null | undefined): boolean {
  return state === 'running' || state === 'warning' || state === 'paused' || state === 'breached';
}

/** The share of a clock's target used, 0–1 (more when past it); null without a target. */
export function used(elapsedSecs: number, targetSecs: number | null | undefined): number | null {
  if (!targetSecs || targetSecs <= 0) return null;
  return Math.max(0, elapsedSecs / targetSecs);
}

/** Minutes as whole hours where they divide ("8 h"), else minutes. */
export function minutesText(minutes: number | null | undefined): { value: number; unit: 'h' | 'min' } | null {
  if (minutes === null || minutes === undefined) return null;
  return minutes % 60 === 0 ? { value: minutes / 60, unit: 'h' } : { value: minutes, unit: 'min' };
}

const SPAN = /^([01]\d|2[0-3]):([0-5]\d)\s*[-–]\s*(([01]\d|2[0-3]):([0-5]\d)|24:00)$/;

/** A day's intervals as typed: "09:00-12:00, 13:00-17:00"; null when malformed. */
export function parseDay(text: string): [string, string][] | null {
  const parts = text
    .split(',')
    .map((p) => p.trim())
    .filter((p) => p !== '');
  const out: [string, string][] = [];
  for (const p of parts) {
    const m = SPAN.exec(p);
    if (!m) return null;
    const start = `${m[1]}:${m[2]}`;
    const end = m[3];
    if (end !== '24:00' && end <= start) return null;
    out.push([start, end]);
  }
  out.sort((a, b) => (a[0] < b[0] ? -1 : 1));
  for (let i = 1; i < out.length; i += 1) if (out[i][0] < out[i - 1][1]) return null;
  return out;
}

/** A day's intervals as shown in the field. */
export function formatDay(spans: string[][] | undefined): string {
  return (spans ?? []).map(([a, b]) => `${a}-${b}`).join(', ');
}

/** The week as typed, or the first day that does not parse. */
export function parseWeek(texts: Record<Day, string>): { week: Week } | { bad: Day } {
  const week = {} as Week;
  for (const d of DAYS) {
    const spans = parseDay(texts[d]);
    if (spans === null) return { bad: d };
    week[d] = spans;
  }
  return { week };
}

/** Holidays as typed, one ISO date per line or comma; null names the first bad one. */
export function parseHolidays(text: string): { dates: string[] } | { bad: string } {
  const dates = new Set<string>();
  for (const raw of text.split(/[\s,]+/)) {
    if (!raw) continue;
    const ok = /^\d{4}-\d{2}-\d{2}$/.test(raw) && !Number.isNaN(Date.parse(`${raw}T00:00:00Z`)) && new Date(`${raw}T00:00:00Z`).toISOString().startsWith(raw);
    if (!ok) return { bad: raw };
    dates.add(raw);
  }
  return { dates: [...dates].sort() };
}

/** A target typed in hours (decimals allowed) as whole minutes; '' is none. */
export function hoursToMinutes(text: string): number | null | undefined {
  const v = text.trim();
  if (v === '') return null;
  if (!/^\d+([.,]\d+)?$/.test(v)) return undefined;
  const m = Math.round(Number(v.replace(',', '.')) * 60);
  return m > 0 ? m : undefined;
}

/** Minutes as hours for the field ("1.5"). */
export function minutesToHours(m: number | null | undefined): string {
  if (m === null || m === undefined) return '';
  return String(Math.round((m / 60) * 100) / 100);
}
