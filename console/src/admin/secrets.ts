// Enroll secrets' lifetimes as an administrator picks them.

export const EXPIRIES = ['never', '1d', '7d', '30d', '90d'] as const;
export type Expiry = (typeof EXPIRIES)[number];

const DAY = 86_400;

/** Seconds for the desk's `expires_in_secs`; undefined: until revoked. */
export function expirySeconds(e: Expiry): number | undefined {
  const days = { never: 0, '1d': 1, '7d': 7, '30d': 30, '90d': 90 }[e];
  return days ? days * DAY : undefined;
}

/** Newest first, usable ones before expired and revoked ones. */
export function sortSecrets<T extends { id: number; state: string }>(list: T[]): T[] {
  const rank = (s: string) => (s === 'active' ? 0 : 1);
  return [...list].sort((a, b) => rank(a.state) - rank(b.state) || b.id - a.id);
}
