// Who else has a ticket open, and who is typing: heard as presence
// events, forgotten when a colleague has not been heard from for a while
// (consoles repeat "viewing" every VIEW_EVERY_MS while the ticket is open).
import type { DeskEvent } from '../live/events';

export const VIEW_EVERY_MS = 20_000;
export const VIEWING_FOR_MS = 50_000;
export const TYPING_FOR_MS = 8_000;

export interface Heard {
  viewing: number;
  typing: number;
}

export type Presence = Record<string, Heard>;

export function isPresence(e: DeskEvent): boolean {
  return e.kind.startsWith('presence.');
}

/** The presence map after an event (others' events on this ticket only). */
export function hear(p: Presence, e: DeskEvent, ticket: number, me: string, now: number): Presence {
  if (!isPresence(e) || e.ticket_id !== ticket || !e.actor || e.actor === me) return p;
  const was = p[e.actor] ?? { viewing: 0, typing: Number.NEGATIVE_INFINITY };
  const next = { ...was, viewing: now };
  if (e.kind === 'presence.typing') next.typing = now;
  return { ...p, [e.actor]: next };
}

/** Who is here now, typing ones first, by name. */
export function present(p: Presence, now: number): { who: string; typing: boolean }[] {
  return Object.entries(p)
    .filter(([, h]) => now - h.viewing < VIEWING_FOR_MS)
    .map(([who, h]) => ({ who, typing: now - h.typing < TYPING_FOR_MS }))
    .sort((a, b) => Number(b.typing) - Number(a.typing) || a.who.localeCompare(b.who));
}
