import { describe, expect, it } from 'vitest';
import { bytes, duration, number, relative } from './format';
import { retryAfterMs, retryingFetch } from './api/retry';
import { match, safeNext } from './router.svelte';
import { pickLocale } from './i18n.svelte';

describe('formatting through Intl', () => {
  it('formats in the locale', () => {
    expect(number(1234.5, 'en', 1)).toBe('1,234.5');
    expect(bytes(1536, 'en')).toBe('1.5 KiB');
    expect(relative('2026-01-01T00:00:00Z', 'en', Date.parse('2026-01-01T03:00:00Z'))).toBe('3 hours ago');
    expect(relative('2026-01-01T00:00:00Z', 'ja', Date.parse('2026-01-02T00:00:00Z'))).toBe('昨日');
    expect(duration(90061, 'en')).toBe('1d 1h');
    expect(duration(300, 'ko')).toContain('5');
  });
});

describe('routes', () => {
  it('match paths', () => {
    expect(match('/')).toEqual({ name: 'queue' });
    expect(match('/tickets/42')).toEqual({ name: 'ticket', id: 42 });
    expect(match('/login')).toEqual({ name: 'login' });
    expect(match('/tickets/abc')).toEqual({ name: 'not_found' });
    expect(match('/tickets/new')).toEqual({ name: 'new_ticket' });
    expect(match('/problems')).toEqual({ name: 'problems' });
    expect(match('/problems/7')).toEqual({ name: 'problem', id: 7 });
    expect(match('/reports')).toEqual({ name: 'reports' });
    expect(match('/kb')).toEqual({ name: 'kb' });
    expect(match('/kb/new')).toEqual({ name: 'article', id: null });
    expect(match('/kb/12')).toEqual({ name: 'article', id: 12 });
    expect(match('/admin/sla')).toEqual({ name: 'admin', page: 'sla' });
    expect(match('/admin/calendars')).toEqual({ name: 'admin', page: 'calendars' });
    expect(match('/admin/teams')).toEqual({ name: 'admin', page: 'teams' });
  });

  it('only come back to this site after login', () => {
    expect(safeNext('/tickets/3?x=1')).toBe('/tickets/3?x=1');
    expect(safeNext('//evil.example')).toBe('/');
    expect(safeNext('https://evil.example')).toBe('/');
    expect(safeNext('/\\evil.example')).toBe('/');
    expect(safeNext(null)).toBe('/');
  });

  it('pick the browser language when it is ours', () => {
    expect(pickLocale(['ko-KR', 'en'])).toBe('ko');
    expect(pickLocale(['fr', 'ja'])).toBe('ja');
    expect(pickLocale(['fr'])).toBe('en');
  });
});

describe('429 Retry-After', () => {
  it('reads seconds and dates, capped', () => {
    expect(retryAfterMs('3')).toBe(3000);
    expect(retryAfterMs('100000')).toBe(60000);
    expect(retryAfterMs('Thu, 01 Jan 2026 00:00:10 GMT', Date.parse('2026-01-01T00:00:00Z'))).toBe(10000);
    expect(retryAfterMs(null)).toBe(1000);
  });

  it('waits as told and sends again, a few times at most', async () => {
    const waits: number[] = [];
    let calls = 0;
    const f = retryingFetch(
      async () => {
        calls += 1;
        return calls < 2 ? new Response('', { status: 429, headers: { 'retry-after': '2' } }) : new Response('ok');
      },
      async (ms) => {
        waits.push(ms);
      },
    );
    const r = await f(new Request('http://x/'));
    expect(await r.text()).toBe('ok');
    expect(waits).toEqual([2000]);
    calls = -100;
    const r2 = await f(new Request('http://x/'));
    expect(r2.status).toBe(429);
  });
});

describe('check transitions', () => {
  it('read as a change, or as a first result when there was no state', async () => {
    const { transitionText } = await import('./transitions');
    const en = (await import('../i18n/en.json')).default as Record<string, string>;
    const { translate } = await import('./i18n.svelte');
    const t = (k: string, v?: Record<string, string | number>) => translate(en, 'en', k, v);
    const at = '2026-12-02T10:00:00Z';
    expect(transitionText({ from: 'ok', to: 'critical', at }, t, 'en')).toMatch(/: OK → Critical$/);
    expect(transitionText({ from: null, to: 'warning', at }, t, 'en')).toMatch(/: first result Warning$/);
  });
});
