import { describe, expect, it } from 'vitest';
import { changedFields, loadDraft, saveDraft } from './draft';

class Mem implements Storage {
  private m = new Map<string, string>();
  get length() {
    return this.m.size;
  }
  clear() {
    this.m.clear();
  }
  getItem(k: string) {
    return this.m.get(k) ?? null;
  }
  key(i: number) {
    return [...this.m.keys()][i] ?? null;
  }
  removeItem(k: string) {
    this.m.delete(k);
  }
  setItem(k: string, v: string) {
    this.m.set(k, v);
  }
}

describe('drafts', () => {
  it('survive per ticket and go when emptied', () => {
    const s = new Mem();
    saveDraft(1, { body: 'hello', internal: true }, s);
    expect(loadDraft(1, s)).toEqual({ body: 'hello', internal: true });
    expect(loadDraft(2, s)).toEqual({ body: '', internal: false });
    saveDraft(1, { body: '', internal: false }, s);
    expect(s.length).toBe(0);
  });

  it('read garbage as empty', () => {
    const s = new Mem();
    s.setItem('deskside.draft.3', '{not json');
    expect(loadDraft(3, s)).toEqual({ body: '', internal: false });
  });

  it('name what another technician changed', () => {
    expect(changedFields({ status: 'open', tier: 1 }, { status: 'pending', tier: 1 }, ['status', 'tier'])).toEqual(['status']);
  });
});
