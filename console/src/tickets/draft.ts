// A reply's draft survives live updates and page reloads: kept per
// ticket in this browser until it is sent.
const key = (ticket: number) => `deskside.draft.${ticket}`;

export interface Draft {
  body: string;
  internal: boolean;
}

export function loadDraft(ticket: number, store: Storage = localStorage): Draft {
  try {
    const d = JSON.parse(store.getItem(key(ticket)) ?? '') as Partial<Draft>;
    return { body: typeof d.body === 'string' ? d.body : '', internal: d.internal === true };
  } catch {
    return { body: '', internal: false };
  }
}

export function saveDraft(ticket: number, d: Draft, store: Storage = localStorage): void {
  if (d.body) store.setItem(key(ticket), JSON.stringify(d));
  else store.removeItem(key(ticket));
}

/** The fields another technician changed between two versions of a ticket. */
export function changedFields(
  mine: Record<string, unknown>,
  theirs: Record<string, unknown>,
  fields: readonly string[],
): string[] {
  return fields.filter((f) => JSON.stringify(mine[f]) !== JSON.stringify(theirs[f]));
}
