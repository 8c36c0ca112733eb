// A line diff of two texts (the policy being published against the one in
// force), shown before publishing. Longest common subsequence over lines,
// after trimming the common head and tail: policies are small and edits
// local, so the quadratic middle stays small.

export type DiffLine =
  | { kind: 'same' | 'add' | 'del'; text: string; before?: number; after?: number }
  | { kind: 'gap'; count: number };

/** Cells of the LCS table above which the diff gives up on the middle
 * (every old line removed, every new one added: still correct). */
const MAX_CELLS = 4_000_000;

export function lineDiff(before: string, after: string): DiffLine[] {
  const a = before === '' ? [] : before.replace(/\n$/, '').split('\n');
  const b = after === '' ? [] : after.replace(/\n$/, '').split('\n');
  let head = 0;
  while (head < a.length && head < b.length && a[head] === b[head]) head += 1;
  let tail = 0;
  while (tail < a.length - head && tail < b.length - head && a[a.length - 1 - tail] === b[b.length - 1 - tail]) tail += 1;
  const out: DiffLine[] = [];
  for (let i = 0; i < head; i += 1) out.push({ kind: 'same', text: a[i], before: i + 1, after: i + 1 });
  const am = a.slice(head, a.length - tail);
  const bm = b.slice(head, b.length - tail);
  const n = am.length;
  const m = bm.length;
  if (n * m > MAX_CELLS) {
    am.forEach((text, i) => out.push({ kind: 'del', text, before: head + i + 1 }));
    bm.forEach((text, j) => out.push({ kind: 'add', text, after: head + j + 1 }));
  } else {
    // lcs[i][j]: common lines of am[i..] and bm[j..].
    const lcs: Uint32Array[] = Array.from({ length: n + 1 }, () => new Uint32Array(m + 1));
    for (let i = n - 1; i >= 0; i -= 1) {
      for (let j = m - 1; j >= 0; j -= 1) {
        lcs[i][j] = am[i] === bm[j] ? lcs[i + 1][j + 1] + 1 : Math.max(lcs[i + 1][j], lcs[i][j + 1]);
      }
    }
    let i = 0;
    let j = 0;
    while (i < n || j < m) {
      if (i < n && j < m && am[i] === bm[j]) {
        out.push({ kind: 'same', text: am[i], before: head + i + 1, after: head + j + 1 });
        i += 1;
        j += 1;
      } else if (i < n && (j === m || lcs[i + 1][j] >= lcs[i][j + 1])) {
        // Removals before additions, as unified diffs read.
        out.push({ kind: 'del', text: am[i], before: head + i + 1 });
        i += 1;
      } else {
        out.push({ kind: 'add', text: bm[j], after: head + j + 1 });
        j += 1;
      }
    }
  }
  for (let k = 0; k < tail; k += 1) {
    const i = a.length - tail + k;
    const j = b.length - tail + k;
    out.push({ kind: 'same', text: a[i], before: i + 1, after: j + 1 });
  }
  return out;
}

/** The changed lines with `context` unchanged lines around each change;
 * longer unchanged runs fold into a gap. */
export function hunks(lines: DiffLine[], context = 3): DiffLine[] {
  const keep = lines.map(() => false);
  lines.forEach((l, i) => {
    if (l.kind === 'add' || l.kind === 'del') {
      for (let k = Math.max(0, i - context); k <= Math.min(lines.length - 1, i + context); k += 1) keep[k] = true;
    }
  });
  const out: DiffLine[] = [];
  let folded = 0;
  lines.forEach((l, i) => {
    if (keep[i]) {
      if (folded) out.push({ kind: 'gap', count: folded });
      folded = 0;
      out.push(l);
    } else folded += 1;
  });
  if (folded && out.length) out.push({ kind: 'gap', count: folded });
  return out;
}

/** Lines added and removed. */
export function counts(lines: DiffLine[]): { added: number; removed: number } {
  return {
    added: lines.filter((l) => l.kind === 'add').length,
    removed: lines.filter((l) => l.kind === 'del').length,
  };
}
