// "What changed before it broke": one timeline of the days before a ticket
// was filed, built from the bundle: software added, removed or upgraded,
// hardware and system changes, check state changes, the last boot and
// policy updates from the agent's log. Nearest to the filing first.
import type { Schemas } from '../lib/api/client.svelte';

type Bundle = Schemas['DiagnosticsBundle'];

export type TimelineKind =
  | 'software_added'
  | 'software_removed'
  | 'software_changed'
  | 'system_changed'
  | 'check_changed'
  | 'check_first'
  | 'reboot'
  | 'policy';

export interface TimelineEvent {
  at: string;
  kind: TimelineKind;
  /** What: a package, a check id, a field path. */
  subject: string;
  /** From → to, where it has them. */
  from?: string;
  to?: string;
}

const ms = (iso: string) => new Date(iso).getTime();

/** The events, nearest to the filing moment first. */
export function buildTimeline(b: Bundle): TimelineEvent[] {
  const out: TimelineEvent[] = [];
  for (const change of b.software_changes ?? []) {
    const c = change.changes;
    for (const s of c.software_added ?? []) out.push({ at: change.seen_at, kind: 'software_added', subject: s.name, to: s.version ?? undefined });
    for (const s of c.software_removed ?? []) out.push({ at: change.seen_at, kind: 'software_removed', subject: s.name, from: s.version ?? undefined });
    for (const s of c.software_changed ?? [])
      out.push({ at: change.seen_at, kind: 'software_changed', subject: s.name, from: s.old_version ?? undefined, to: s.new_version ?? undefined });
    for (const f of c.system_changes ?? [])
      out.push({ at: change.seen_at, kind: 'system_changed', subject: f.path, from: show(f.old), to: show(f.new) });
  }
  // A new check's first reported state comes from nothing, not from "ok".
  for (const tr of b.transitions ?? []) {
    if (tr.from == null) out.push({ at: tr.at, kind: 'check_first', subject: tr.check_id, to: tr.to });
    else out.push({ at: tr.at, kind: 'check_changed', subject: tr.check_id, from: tr.from, to: tr.to });
  }
  const boot = b.device?.os?.boot_time;
  if (boot) out.push({ at: boot, kind: 'reboot', subject: b.device?.device?.hostname ?? '' });
  for (const line of b.logs ?? []) {
    const m = /^(\S+)\s.*new policy applied.*?version[=: ]+(\d+)/.exec(line);
    if (m && !Number.isNaN(ms(m[1]))) out.push({ at: m[1], kind: 'policy', subject: m[2], to: m[2] });
  }
  const filed = b.created_at ? ms(b.created_at) : Date.now();
  return out
    .filter((e) => !Number.isNaN(ms(e.at)))
    .sort((a, b2) => Math.abs(filed - ms(a.at)) - Math.abs(filed - ms(b2.at)) || ms(b2.at) - ms(a.at));
}

function show(v: unknown): string | undefined {
  if (v === null || v === undefined) return undefined;
  return typeof v === 'string' ? v : JSON.stringify(v);
}

/** Log lines at a level and containing a text (case-insensitive). */
export function filterLogs(lines: readonly string[], level: string, text: string): string[] {
  const needle = text.trim().toLowerCase();
  return lines.filter((l) => {
    if (level && !new RegExp(`\\b${level}\\b`, 'i').test(l)) return false;
    return !needle || l.toLowerCase().includes(needle);
  });
}

export type ProcessSort = 'cpu' | 'memory';

export interface ProcessRow {
  pid: number;
  name: string;
  cpu_percent: number;
  memory_bytes: number;
  command: string;
  redacted: boolean;
}

/** The processes of both rankings, once each, sorted by the chosen column. */
export function processRows(b: Bundle, sort: ProcessSort): ProcessRow[] {
  const seen = new Map<number, ProcessRow>();
  for (const p of [...(b.processes?.by_cpu ?? []), ...(b.processes?.by_memory ?? [])]) {
    if (!seen.has(p.pid)) seen.set(p.pid, { ...p, command: p.command ?? '', redacted: (p.command ?? '').includes('***') });
  }
  const rows = [...seen.values()];
  rows.sort((a, b2) => (sort === 'cpu' ? b2.cpu_percent - a.cpu_percent : b2.memory_bytes - a.memory_bytes) || a.pid - b2.pid);
  return rows;
}

/** Failing and warning checks first, worst first. */
export function problemChecks(b: Bundle): Schemas['CheckResult'][] {
  const rank: Record<string, number> = { critical: 0, warning: 1, unknown: 2, ok: 3 };
  return [...(b.check_results ?? [])].sort((a, c) => (rank[a.state] ?? 4) - (rank[c.state] ?? 4) || a.check_id.localeCompare(c.check_id));
}
