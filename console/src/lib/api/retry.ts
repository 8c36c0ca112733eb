// A fetch that honours 429 Retry-After: the desk said when to come back,
// so the request waits that long and is sent again (a few times at most).
// A 429 means the desk did nothing, so resending is safe for any method.

export const MAX_ATTEMPTS = 3;
export const MAX_WAIT_MS = 60_000;

/** Milliseconds a Retry-After header asks for (seconds or an HTTP date). */
export function retryAfterMs(header: string | null, now: number = Date.now()): number {
  if (!header) return 1000;
  const secs = Number(header);
  if (Number.isFinite(secs)) return Math.min(MAX_WAIT_MS, Math.max(0, secs * 1000));
  const at = Date.parse(header);
  if (Number.isNaN(at)) return 1000;
  return Math.min(MAX_WAIT_MS, Math.max(0, at - now));
}

export function retryingFetch(
  inner: (req: Request) => Promise<Response> = (r) => fetch(r),
  sleep: (ms: number) => Promise<void> = (ms) => new Promise((r) => setTimeout(r, ms)),
): (req: Request) => Promise<Response> {
  return async (req: Request) => {
    for (let attempt = 1; ; attempt += 1) {
      const res = await inner(req.clone());
      if (res.status !== 429 || attempt >= MAX_ATTEMPTS) return res;
      await sleep(retryAfterMs(res.headers.get('retry-after')));
    }
  };
}
