import { describe, expect, it } from 'vitest';
import { actionKey, detailFacts } from './audit';
import { checkOf, errorLines, lineCount, lineRange, lineStart } from './policy';
import { expirySeconds, sortSecrets } from './secrets';
import { counts, hunks, lineDiff } from './textdiff';
import en from '../i18n/en.json';

describe('lineDiff', () => {
  it('marks changed, added and removed lines with their numbers', () => {
    const d = lineDiff('a\nb\nc\nd\n', 'a\nB\nc\nd\ne\n');
    expect(d).toEqual([
      { kind: 'same', text: 'a', before: 1, after: 1 },
      { kind: 'del', text: 'b', before: 2 },
      { kind: 'add', text: 'B', after: 2 },
      { kind: 'same', text: 'c', before: 3, after: 3 },
      { kind: 'same', text: 'd', before: 4, after: 4 },
      { kind: 'add', text: 'e', after: 5 },
    ]);
    expect(counts(d)).toEqual({ added: 2, removed: 1 });
  });

  it('finds a moved block as little change as possible', () => {
    const d = lineDiff('x\ny\nz\n', 'y\nz\nx\n');
    expect(counts(d)).toEqual({ added: 1, removed: 1 });
  });

  it('handles empty texts', () => {
    expect(lineDiff('', 'a\nb')).toEqual([
      { kind: 'add', text: 'a', after: 1 },
      { kind: 'add', text: 'b', after: 2 },
    ]);
    expect(lineDiff('a', '')).toEqual([{ kind: 'del', text: 'a', before: 1 }]);
    expect(lineDiff('same\n', 'same\n').every((l) => l.kind === 'same')).toBe(true);
  });

  it('folds long unchanged runs into gaps around the changes', () => {
    const before = Array.from({ length: 20 }, (_, i) => `l${i}`).join('\n');
    const after = before.replace('l10', 'L10');
    const h = hunks(lineDiff(before, after), 2);
    expect(h[0]).toEqual({ kind: 'gap', count: 8 });
    expect(h.filter((l) => l.kind !== 'gap').map((l) => ('text' in l ? l.text : ''))).toEqual(['l8', 'l9', 'l10', 'L10', 'l11', 'l12']);
    expect(h[h.length - 1]).toEqual({ kind: 'gap', count: 7 });
    expect(hunks(lineDiff('a', 'a'))).toEqual([]);
  });
});

describe('policy errors', () => {
  const text = 'version = 1\n\n[[checks]]\nid = "x"\nwarn = "lots"\n';
  it('locate lines in the text', () => {
    expect(lineStart(text, 1)).toBe(0);
    expect(lineStart(text, 5)).toBe(text.indexOf('warn'));
    expect(lineRange(text, 5)).toEqual([text.indexOf('warn'), text.indexOf('"lots"') + 6]);
    expect(lineStart(text, 99)).toBe(text.length);
    expect(lineCount(text)).toBe(6);
  });

  it('name the check or say it is the whole policy', () => {
    expect(checkOf({ position: 2, check: 'memory', field: 'warn', message: 'm' })).toBe('memory');
    expect(checkOf({ position: 3, field: 'id', message: 'is required' })).toBe('#3');
    expect(checkOf({ position: 0, field: '', message: 'not TOML', line: 4 })).toBeNull();
    expect([...errorLines([{ position: 1, field: 'a', message: '', line: 4 }, { position: 0, field: '', message: '' }])]).toEqual([4]);
  });
});

describe('secrets and audit', () => {
  it('turn lifetimes into seconds', () => {
    expect(expirySeconds('never')).toBeUndefined();
    expect(expirySeconds('7d')).toBe(7 * 86400);
  });

  it('list usable secrets first, newest first', () => {
    const s = sortSecrets([
      { id: 1, state: 'active' },
      { id: 3, state: 'revoked' },
      { id: 2, state: 'active' },
      { id: 4, state: 'expired' },
    ]);
    expect(s.map((x) => x.id)).toEqual([2, 1, 4, 3]);
  });

  it('have a text for every action the desk records', () => {
    for (const a of ['policy.publish', 'policy.rollback', 'token.create', 'user.password_reset', 'device.revoke',
      'team.create', 'team.delete', 'sla_calendar.update', 'sla_policy.create', 'sla_policy.order']) {
      const key = actionKey(a);
      expect(key && key in en, a).toBe(true);
    }
    expect(actionKey('something.new')).toBeNull();
  });

  it('summarise details without secrets', () => {
    expect(detailFacts({ version: 3, diff: { added: ['a', 'b'], removed: [], changed: ['c'] }, to: 1 })).toEqual({
      added: 'a, b',
      changed: 'c',
      to: '1',
    });
    expect(detailFacts(null)).toEqual({});
    expect(detailFacts({ label: 'ci', nested: { x: 1 } })).toEqual({ label: 'ci' });
    expect(detailFacts({ name: 'Network', members: ['a@example.com'] })).toEqual({ name: 'Network' });
  });
});
