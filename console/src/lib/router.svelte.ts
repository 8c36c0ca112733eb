// Client-side routes on the History API: the path and query are the
// state a technician bookmarks or shares.
import { packageFromPath } from '../software/catalogue';

export type Route =
  | { name: 'login' }
  | { name: 'queue' }
  | { name: 'ticket'; id: number }
  | { name: 'new_ticket' }
  | { name: 'problems' }
  | { name: 'problem'; id: number }
  | { name: 'reports' }
  | { name: 'kb' }
  | { name: 'article'; id: number | null }
  | { name: 'devices' }
  | { name: 'device'; id: number }
  | { name: 'software' }
  | { name: 'fleet' }
  | { name: 'package'; package: string }
  | { name: 'admin'; page: AdminPage }
  | { name: 'not_found' };

export const ADMIN_PAGES = ['policy', 'teams', 'sla', 'calendars', 'secrets', 'users', 'tokens', 'webhooks', 'audit'] as const;
export type AdminPage = (typeof ADMIN_PAGES)[number];

export function match(pathname: string): Route {
  if (pathname === '/login') return { name: 'login' };
  if (pathname === '/' || pathname === '/tickets') return { name: 'queue' };
  if (pathname === '/tickets/new') return { name: 'new_ticket' };
  if (pathname === '/problems') return { name: 'problems' };
  const pr = /^\/problems\/(\d{1,15})$/.exec(pathname);
  if (pr) return { name: 'problem', id: Number(pr[1]) };
  if (pathname === '/reports') return { name: 'reports' };
  if (pathname === '/kb') return { name: 'kb' };
  if (pathname === '/kb/new') return { name: 'article', id: null };
  const kb = /^\/kb\/(\d{1,15})$/.exec(pathname);
  if (kb) return { name: 'article', id: Number(kb[1]) };
  const m = /^\/tickets\/(\d{1,15})$/.exec(pathname);
  if (m) return { name: 'ticket', id: Number(m[1]) };
  if (pathname === '/devices') return { name: 'devices' };
  const d = /^\/devices\/(\d{1,15})$/.exec(pathname);
  if (d) return { name: 'device', id: Number(d[1]) };
  if (pathname === '/software') return { name: 'software' };
  if (pathname === '/fleet') return { name: 'fleet' };
  if (pathname === '/admin') return { name: 'admin', page: 'policy' };
  const a = /^\/admin\/([a-z]+)$/.exec(pathname);
  const page = ADMIN_PAGES.find((p) => p === a?.[1]);
  if (page) return { name: 'admin', page };
  const pkg = packageFromPath(pathname);
  if (pkg !== null) return { name: 'package', package: pkg };
  return { name: 'not_found' };
}

/** Only a path on this site may be a login's `next`. */
export function safeNext(next: string | null): string {
  if (!next || !next.startsWith('/') || next.startsWith('//') || next.startsWith('/\\')) return '/';
  return next;
}

export const location_ = $state({ path: '/', search: '' });

function sync(): void {
  location_.path = window.location.pathname;
  location_.search = window.location.search;
}

export function startRouter(): void {
  sync();
  window.addEventListener('popstate', sync);
}

export function navigate(to: string, replace = false): void {
  if (to === window.location.pathname + window.location.search) return;
  if (replace) history.replaceState(null, '', to);
  else history.pushState(null, '', to);
  sync();
}

/** Where the technician is, to come back to after logging in. */
export function here(): string {
  return window.location.pathname + window.location.search;
}
