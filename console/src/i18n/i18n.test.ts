// The catalogs have the same keys, every key the code uses exists, and no
// component shows English text that is not from a catalog.
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import en from './en.json';
import ja from './ja.json';
import ko from './ko.json';
import { translate } from '../lib/i18n.svelte';

const SRC = join(__dirname, '..');
const catalogs: Record<string, Record<string, string>> = { en, ko, ja };

function files(dir: string, ext: string[]): string[] {
  return readdirSync(dir).flatMap((name) => {
    const p = join(dir, name);
    if (statSync(p).isDirectory()) return files(p, ext);
    return ext.some((e) => name.endsWith(e)) && !name.endsWith('.test.ts') && !name.endsWith('.d.ts') ? [p] : [];
  });
}

/** Markup without script and style blocks and without {expressions}
 * (balanced braces, so arrows and comparisons inside them do not count). */
function markup(source: string): string {
  const html = source.replace(/<script[\s\S]*?<\/script>/g, '').replace(/<style[\s\S]*?<\/style>/g, '');
  let out = '';
  let depth = 0;
  for (const ch of html) {
    if (ch === '{') depth += 1;
    else if (ch === '}') depth = Math.max(0, depth - 1);
    else if (depth === 0) out += ch;
  }
  return out;
}

describe('catalogs', () => {
  it('have identical keys in every language', () => {
    const keys = Object.keys(en).sort();
    for (const [lang, c] of Object.entries(catalogs)) expect(Object.keys(c).sort(), lang).toEqual(keys);
  });

  it('have no empty text and the same placeholders in every language', () => {
    for (const key of Object.keys(en)) {
      const want = [...en[key as keyof typeof en].matchAll(/\{(\w+)\}/g)].map((m) => m[1]).sort();
      for (const [lang, c] of Object.entries(catalogs)) {
        expect(c[key].trim(), `${lang} ${key}`).not.toBe('');
        expect([...c[key].matchAll(/\{(\w+)\}/g)].map((m) => m[1]).sort(), `${lang} ${key}`).toEqual(want);
      }
    }
  });

  it('translate Korean and Japanese for real', () => {
    const same = Object.keys(en).filter((k) => !k.startsWith('lang.') && !k.startsWith('proc.') && k !== 'app.name');
    const untranslated = same.filter((k) => ko[k as keyof typeof ko] === en[k as keyof typeof en] || ja[k as keyof typeof ja] === en[k as keyof typeof en]);
    expect(untranslated).toEqual([]);
  });

  it('contain every key the code asks for', () => {
    const missing: string[] = [];
    for (const file of files(SRC, ['.svelte', '.ts'])) {
      const text = readFileSync(file, 'utf8');
      for (const m of text.matchAll(/\bt\('([a-z0-9_.]+)'/g)) {
        const key = m[1];
        if (!(key in en) && !(`${key}_one` in en && `${key}_other` in en)) missing.push(`${file}: ${key}`);
      }
      // Keys made from a prefix: at least one key has that prefix.
      for (const m of text.matchAll(/\bt\(`([a-z0-9_.]+)\.\$\{/g)) {
        if (!Object.keys(en).some((k) => k.startsWith(`${m[1]}.`))) missing.push(`${file}: ${m[1]}.*`);
      }
    }
    expect(missing).toEqual([]);
  });

  it('fills placeholders and picks plural forms', () => {
    expect(translate(en, 'en', 'bulk.done', { count: 1 })).toBe('1 ticket changed.');
    expect(translate(en, 'en', 'bulk.done', { count: 3 })).toBe('3 tickets changed.');
    expect(translate(ja, 'ja', 'tier.n', { n: 2 })).toBe('ティア 2');
    expect(translate(en, 'en', 'no.such.key')).toBe('no.such.key');
  });
});

describe('components', () => {
  it('show no hard-coded English', () => {
    const found: string[] = [];
    for (const file of files(SRC, ['.svelte'])) {
      const m = markup(readFileSync(file, 'utf8'));
      // Text between tags, without {expressions}.
      for (const [, text] of m.matchAll(/>([^<>]+)</g)) {
        const plain = text.trim();
        if (/[A-Za-z]{2,}/.test(plain)) found.push(`${file}: text "${plain}"`);
      }
      // Attributes people read.
      for (const [, attr, value] of m.matchAll(/\s(aria-label|title|placeholder|alt)="([^"]*)"/g)) {
        if (/[A-Za-z]{2,}/.test(value.replace(/\{[^}]*\}/g, ''))) found.push(`${file}: ${attr}="${value}"`);
      }
    }
    expect(found).toEqual([]);
  });
});
