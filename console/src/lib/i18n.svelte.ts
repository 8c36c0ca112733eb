// The console's languages: English, Korean and Japanese catalogs with the
// same keys (a unit test checks), `{name}` placeholders, and plural forms
// as `key_one` / `key_other` chosen by Intl.PluralRules. The language is
// remembered per technician in this browser.
import en from '../i18n/en.json';
import ja from '../i18n/ja.json';
import ko from '../i18n/ko.json';

export const LOCALES = ['en', 'ko', 'ja'] as const;
export type Locale = (typeof LOCALES)[number];
export type Catalog = Record<string, string>;
export const CATALOGS: Record<Locale, Catalog> = { en, ko, ja };

export function isLocale(s: unknown): s is Locale {
  return typeof s === 'string' && (LOCALES as readonly string[]).includes(s);
}

/** The locale a browser asks for, when it is one of ours. */
export function pickLocale(preferred: readonly string[]): Locale {
  for (const tag of preferred) {
    const base = tag.toLowerCase().split('-')[0];
    if (isLocale(base)) return base;
  }
  return 'en';
}

/** Looks a message up and fills its placeholders; a missing key shows itself. */
export function translate(
  catalog: Catalog,
  locale: Locale,
  key: string,
  vars: Record<string, string | number> = {},
): string {
  let text = catalog[key];
  if (text === undefined && typeof vars.count === 'number') {
    const form = new Intl.PluralRules(locale).select(vars.count);
    text = catalog[`${key}_${form}`] ?? catalog[`${key}_other`];
  }
  if (text === undefined) return key;
  return text.replace(/\{(\w+)\}/g, (whole, name: string) => {
    const v = vars[name];
    if (v === undefined) return whole;
    return typeof v === 'number' ? new Intl.NumberFormat(locale).format(v) : v;
  });
}

const initial = pickLocale(typeof navigator === 'undefined' ? [] : navigator.languages ?? []);

export const i18n = $state({ locale: initial as Locale });

export function t(key: string, vars?: Record<string, string | number>): string {
  return translate(CATALOGS[i18n.locale], i18n.locale, key, vars);
}

const storageKey = (who: string) => `deskside.lang.${who}`;

/** The technician's remembered language, else the browser's. */
export function restoreLocale(who: string): void {
  const saved = localStorage.getItem(storageKey(who));
  if (isLocale(saved)) setLocale(saved, who);
  else document.documentElement.lang = i18n.locale;
}

export function setLocale(locale: Locale, who?: string): void {
  i18n.locale = locale;
  document.documentElement.lang = locale;
  if (who) localStorage.setItem(storageKey(who), locale);
}
