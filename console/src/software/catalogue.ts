// The software catalogue's state in the URL (search text) and the rows of
// a package page. Pure, tested with Vitest.
import type { Schemas } from '../lib/api/client.svelte';

type Entry = Schemas['SoftwareView'];

/** The search text a query string names (at most 256 characters). */
export function searchOf(search: string): string {
  const v = new URLSearchParams(search).get('q') ?? '';
  return v.length <= 256 ? v : '';
}

export function searchString(q: string): string {
  return q ? `?${new URLSearchParams({ q }).toString()}` : '';
}

/** The entry of exactly this package among a search's results. */
export function exactEntry(entries: Entry[], name: string): Entry | undefined {
  return entries.find((e) => e.name === name);
}

/** A package's path in the console (names may hold any character). */
export function packagePath(name: string): string {
  return `/software/${encodeURIComponent(name)}`;
}

/** The package a path names, or null. */
export function packageFromPath(path: string): string | null {
  const m = /^\/software\/(.+)$/.exec(path);
  if (!m) return null;
  try {
    const name = decodeURIComponent(m[1]);
    return name.length <= 256 ? name : null;
  } catch {
    return null;
  }
}
