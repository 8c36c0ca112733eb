// What the desk verifies on the device about a ticket, as lines to show:
// the check that opened it and when the desk resolves it, the checks that
// were failing when it was filed, and the watch after a resolution (a
// relapse reopens the ticket; the employee's rating waits). Also the
// desk's own notes in the conversation, by kind.
import type { Schemas } from '../lib/api/client.svelte';

export interface Line {
  key: string;
  args: Record<string, string | number>;
}

type Verification = Schemas['VerificationView'];
type Note = Schemas['DeskNote'];

/** The note kinds the console words; others show the desk's text. */
export const NOTE_KINDS = ['verified_by_device', 'failed_again', 'relapsed'] as const;

/** Whole hours or minutes, as the duration argument of a line. */
export function duration(secs: number): { n: number; unit: 'hours' | 'minutes' } {
  return secs % 3600 === 0 ? { n: secs / 3600, unit: 'hours' } : { n: Math.round(secs / 60), unit: 'minutes' };
}

/** The lines of a ticket's verification at `now` (ms); ISO times stay
 * ISO for the caller to format. */
export function verificationLines(v: Verification, now: number): Line[] {
  const lines: Line[] = [];
  if (v.check_id) {
    lines.push({ key: 'verify.opened_by', args: { check: v.check_id } });
    if (v.verified_at) {
      lines.push({ key: 'verify.verified', args: { time: v.verified_at } });
    } else if (v.resolve_after_secs != null) {
      const d = duration(v.resolve_after_secs);
      lines.push({ key: `verify.resolves_after_${d.unit}`, args: { count: d.n } });
    }
  }
  if (v.watched_checks.length) {
    lines.push({ key: 'verify.watched', args: { checks: v.watched_checks.join(', ') } });
  }
  if (v.watch_until && Date.parse(v.watch_until) > now) {
    lines.push({ key: 'verify.watching', args: { time: v.watch_until } });
  }
  if (v.rating_opens_at && Date.parse(v.rating_opens_at) > now) {
    lines.push({ key: 'verify.rating_waits', args: { time: v.rating_opens_at } });
  }
  return lines;
}

/** A desk note's message key, or null when the console does not know
 * its kind (the desk's English body is shown then). */
export function noteKey(note: Note | null | undefined): string | null {
  if (!note) return null;
  return (NOTE_KINDS as readonly string[]).includes(note.kind) ? `note.${note.kind}` : null;
}
