// The policy editor's view logic: where each error the desk reported is
// (check, field, line), and how to move the caret to it.
import type { Schemas } from '../lib/api/client.svelte';

export type FieldError = Schemas['FieldError'];

/** The check an error concerns: its id, else its position; null for an
 * error about the policy as a whole. */
export function checkOf(e: FieldError): string | null {
  if (e.position === 0) return null;
  return e.check ?? `#${e.position}`;
}

/** The character offset where 1-based `line` starts in `text` (the end of
 * the text for a line past it). */
export function lineStart(text: string, line: number): number {
  let offset = 0;
  for (let n = 1; n < line; n += 1) {
    const next = text.indexOf('\n', offset);
    if (next < 0) return text.length;
    offset = next + 1;
  }
  return offset;
}

/** The 1-based line and its end offset, for selecting the whole line. */
export function lineRange(text: string, line: number): [number, number] {
  const start = lineStart(text, line);
  const end = text.indexOf('\n', start);
  return [start, end < 0 ? text.length : end];
}

/** Errors by line, for the gutter beside the editor. */
export function errorLines(errors: FieldError[]): Set<number> {
  return new Set(errors.flatMap((e) => (e.line ? [e.line] : [])));
}

/** The number of lines of a text, for the gutter. */
export function lineCount(text: string): number {
  return text.split('\n').length;
}
