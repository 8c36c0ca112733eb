// A device's inventory changes as a readable timeline: one line per
// package added, removed, upgraded or downgraded (with versions) and per
// hardware or system field that changed. Pure, tested with Vitest.
import type { Schemas } from '../lib/api/client.svelte';

type Change = Schemas['DeviceInventoryChange'];

export type Entry =
  | { at: string; kind: 'added' | 'removed'; name: string; version: string }
  | { at: string; kind: 'upgraded' | 'downgraded' | 'changed'; name: string; from: string; to: string }
  | { at: string; kind: 'field'; path: string; from: string; to: string };

type Label = (key: string, vars?: Record<string, string | number>) => string;

/** One entry as a sentence from the catalogs. */
export function entryText(e: Entry, t: Label): string {
  switch (e.kind) {
    case 'added':
    case 'removed':
      return t(`change.${e.kind}`, { name: e.name, version: e.version || '–' });
    case 'field':
      return t('change.field', { path: e.path, from: e.from, to: e.to });
    default:
      return t(`change.${e.kind}`, { name: e.name, from: e.from || '–', to: e.to || '–' });
  }
}

/** A field's value as one line of text (objects as compact JSON). */
export function fieldText(v: unknown): string {
  if (v === undefined || v === null) return '–';
  if (typeof v === 'string') return v;
  if (typeof v === 'number' || typeof v === 'boolean') return String(v);
  return JSON.stringify(v);
}

/** The entries of changes, newest change first, packages by name within one. */
export function timeline(changes: Change[]): { at: string; entries: Entry[] }[] {
  return changes.map((c) => {
    const d = c.diff;
    const at = c.changed_at;
    const entries: Entry[] = [
      ...d.software_added.map((p) => ({ at, kind: 'added' as const, name: p.name, version: p.version ?? '' })),
      ...d.software_removed.map((p) => ({ at, kind: 'removed' as const, name: p.name, version: p.version ?? '' })),
      ...d.software_changed.map((p) => ({ at, kind: p.kind, name: p.name, from: p.old_version ?? '', to: p.new_version ?? '' })),
    ].sort((a, b) => a.name.localeCompare(b.name));
    for (const f of d.system_changes) entries.push({ at, kind: 'field', path: f.path, from: fieldText(f.old), to: fieldText(f.new) });
    return { at, entries };
  });
}

/** A policy text: one string, or one per language (English as fallback). */
export function localText(v: unknown, locale: string): string {
  if (typeof v === 'string') return v;
  if (v && typeof v === 'object') {
    const m = v as Record<string, unknown>;
    const pick = m[locale] ?? m.en;
    if (typeof pick === 'string') return pick;
  }
  return '';
}

/**
 * Each check's title and how to fix it, by check id, from the desk's
 * policy (its checks are free-form JSON to the console: only `id`,
 * `title` and `remediation` are read, as text or per language).
 */
export function checkTexts(checks: unknown[], locale: string): Map<string, { title: string; fix: string }> {
  const out = new Map<string, { title: string; fix: string }>();
  for (const c of checks) {
    if (c && typeof c === 'object') {
      const { id, title, remediation } = c as { id?: unknown; title?: unknown; remediation?: unknown };
      if (typeof id === 'string') out.set(id, { title: localText(title, locale), fix: localText(remediation, locale) });
    }
  }
  return out;
}

/** Installed packages whose name contains `text` (ignoring case), by name. */
export function filterSoftware<T extends { name: string }>(packages: T[], text: string): T[] {
  const needle = text.trim().toLocaleLowerCase();
  return packages
    .filter((p) => !needle || p.name.toLocaleLowerCase().includes(needle))
    .sort((a, b) => a.name.localeCompare(b.name));
}
