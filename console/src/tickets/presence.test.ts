import { describe, expect, it } from 'vitest';
import { hear, present, TYPING_FOR_MS, VIEWING_FOR_MS } from './presence';

const ev = (kind: string, actor: string, ticket = 7) => ({ id: 1, kind, actor, ticket_id: ticket, at: '' });

describe('presence', () => {
  it('lists others on this ticket, typing first, and forgets them', () => {
    let p = {};
    p = hear(p, ev('presence.viewing', 'b@x'), 7, 'me@x', 1000);
    p = hear(p, ev('presence.typing', 'a@x'), 7, 'me@x', 1000);
    p = hear(p, ev('presence.viewing', 'me@x'), 7, 'me@x', 1000);
    p = hear(p, ev('presence.viewing', 'c@x', 8), 7, 'me@x', 1000);
    p = hear(p, ev('ticket.updated', 'd@x'), 7, 'me@x', 1000);
    expect(present(p, 1000)).toEqual([
      { who: 'a@x', typing: true },
      { who: 'b@x', typing: false },
    ]);
    expect(present(p, 1000 + TYPING_FOR_MS)).toEqual([
      { who: 'a@x', typing: false },
      { who: 'b@x', typing: false },
    ]);
    expect(present(p, 1000 + VIEWING_FOR_MS)).toEqual([]);
  });
});
