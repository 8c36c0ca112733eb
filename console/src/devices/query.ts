// The device list's state as it lives in the URL (filters a technician
// bookmarks or shares), what GET /api/v1/devices takes for it, and the CSV
// export of a result. Pure functions, tested with Vitest.

export const HEALTHS = ['ok', 'warning', 'critical', 'unknown'] as const;
/** "Not seen for" choices, in days. */
export const UNSEEN_DAYS = ['1', '7', '30'] as const;
export type VersionOp = 'exact' | 'older';

export interface DeviceFilters {
  search: string;
  user: string;
  os: string;
  software: string;
  /** '1': `software` is a package's whole name (from the package page). */
  exact: string;
  version: string;
  op: VersionOp;
  health: string;
  unseen: string;
  /** A check id failing (warning or critical) on the device. */
  failing: string;
}

export const EMPTY: DeviceFilters = { search: '', user: '', os: '', software: '', exact: '', version: '', op: 'exact', health: '', unseen: '', failing: '' };

const KEYS = ['search', 'user', 'os', 'software', 'exact', 'version', 'op', 'health', 'unseen', 'failing'] as const;

function valid(key: (typeof KEYS)[number], v: string): boolean {
  switch (key) {
    case 'health':
      return (HEALTHS as readonly string[]).includes(v);
    case 'unseen':
      return (UNSEEN_DAYS as readonly string[]).includes(v);
    case 'op':
      return v === 'exact' || v === 'older';
    case 'exact':
      return v === '1';
    default:
      return v.length <= 256;
  }
}

/** The filters a query string names; anything invalid is ignored. */
export function fromSearch(search: string): DeviceFilters {
  const p = new URLSearchParams(search);
  const f: DeviceFilters = { ...EMPTY };
  for (const key of KEYS) {
    const v = p.get(key);
    if (v !== null && v !== '' && valid(key, v)) (f as unknown as Record<string, string>)[key] = v;
  }
  return f;
}

/** The query string of filters: only what differs from the default, in a stable order. */
export function toSearch(f: DeviceFilters): string {
  const p = new URLSearchParams();
  for (const key of KEYS) {
    const v = f[key];
    if (v !== '' && v !== EMPTY[key]) p.set(key, v);
  }
  const s = p.toString();
  return s ? `?${s}` : '';
}

export interface DeviceApiQuery {
  search?: string;
  user?: string;
  os?: string;
  software?: string;
  software_exact?: boolean;
  software_version?: string;
  software_older_than?: string;
  health?: string;
  failing_check?: string;
  seen_before?: string;
}

/** The API query of filters; `now` in milliseconds. A version needs a package. */
export function toApiQuery(f: DeviceFilters, now: number): DeviceApiQuery {
  const q: DeviceApiQuery = {};
  if (f.search) q.search = f.search;
  if (f.user) q.user = f.user;
  if (f.os) q.os = f.os;
  if (f.software) {
    q.software = f.software;
    if (f.exact) q.software_exact = true;
    if (f.version) {
      if (f.op === 'older') q.software_older_than = f.version;
      else q.software_version = f.version;
    }
  }
  if (f.health) q.health = f.health;
  if (f.failing) q.failing_check = f.failing;
  if (f.unseen) q.seen_before = new Date(now - Number(f.unseen) * 86_400_000).toISOString();
  return q;
}

/**
 * One CSV cell (RFC 4180). A cell a spreadsheet would read as a formula
 * (starting with =, +, -, @, tab or carriage return) is prefixed with an
 * apostrophe: a host name or package name comes from the device, and a
 * device is not trusted to run formulas on a technician's computer.
 */
export function csvCell(v: string | number | boolean | null | undefined): string {
  let s = v === null || v === undefined ? '' : String(v);
  if (/^[=+\-@\t\r]/.test(s)) s = `'${s}`;
  return /[",\r\n]/.test(s) ? `"${s.replace(/"/g, '""')}"` : s;
}

/** Rows as CSV text, CRLF line ends as RFC 4180 says. */
export function csv(rows: (string | number | boolean | null | undefined)[][]): string {
  return rows.map((r) => r.map(csvCell).join(',')).join('\r\n') + '\r\n';
}

/** The device list of a package (its whole name), in one version or older than one. */
export function packageSearch(name: string, version?: string, older = false): string {
  return toSearch({ ...EMPTY, software: name, exact: '1', ...(version !== undefined ? { version, op: older ? 'older' : 'exact' } : {}) });
}
