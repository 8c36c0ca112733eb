// The bundle's metric history as chart series: aligned columns of numbers
// (uPlot's data shape) on one time axis in seconds, gaps as null. The day
// before the last hour comes as one-minute rollups (format version 3):
// they give averages and each minute's peak, so a spike survives.
import type { Schemas } from '../lib/api/client.svelte';

type Sample = Schemas['MetricSample'];
type Rollup = Schemas['MetricRollup'];

export interface Chart {
  key: 'cpu' | 'memory' | 'load' | 'disk' | 'network' | 'temperature' | 'battery' | 'processes' | 'activity';
  /** Series labels (the legend). */
  labels: string[];
  /** [times, ...series]. */
  data: (number | null)[][];
  unit: '%' | 'B' | 'B/s' | '°C' | '';
}

interface Point {
  t: number;
  cpu: number | null;
  cpuPeak: number | null;
  mem: number | null;
  swap: number | null;
  load: [number | null, number | null, number | null];
  fullest: number | null;
  mounts: Record<string, number>;
  rx: number | null;
  tx: number | null;
  temps: Record<string, number>;
  tempPeak: number | null;
}

const pct = (part: number, whole: number) => (whole > 0 ? (100 * part) / whole : null);

function fromSample(s: Sample): Point {
  const mounts: Record<string, number> = {};
  for (const v of s.volumes ?? []) if (v.total_bytes > 0) mounts[v.mount_point] = (100 * (v.total_bytes - v.free_bytes)) / v.total_bytes;
  const used = Object.values(mounts);
  const temps: Record<string, number> = {};
  for (const x of s.temperatures ?? []) temps[x.label] = x.celsius;
  const tv = Object.values(temps);
  return {
    t: new Date(s.timestamp).getTime() / 1000,
    cpu: s.cpu?.usage_percent ?? null,
    cpuPeak: s.cpu?.usage_percent ?? null,
    mem: s.memory ? pct(s.memory.used_bytes, s.memory.total_bytes) : null,
    swap: s.memory ? pct(s.memory.swap_used_bytes, s.memory.swap_total_bytes) : null,
    load: [s.load_average?.one ?? null, s.load_average?.five ?? null, s.load_average?.fifteen ?? null],
    fullest: used.length ? Math.max(...used) : null,
    mounts,
    rx: s.network?.length ? s.network.reduce((a, n) => a + n.rx_bytes_per_sec, 0) : null,
    tx: s.network?.length ? s.network.reduce((a, n) => a + n.tx_bytes_per_sec, 0) : null,
    temps,
    tempPeak: tv.length ? Math.max(...tv) : null,
  };
}

function fromRollup(r: Rollup, memTotal: number | null): Point {
  return {
    t: new Date(r.minute).getTime() / 1000,
    cpu: r.cpu_avg_percent ?? null,
    cpuPeak: r.cpu_max_percent ?? null,
    mem: memTotal && r.memory_used_avg_bytes != null ? pct(r.memory_used_avg_bytes, memTotal) : null,
    swap: null,
    load: [r.load_one_avg ?? null, null, null],
    fullest: r.min_volume_free_percent != null ? 100 - r.min_volume_free_percent : null,
    mounts: {},
    rx: r.net_rx_avg_bytes_per_sec ?? null,
    tx: r.net_tx_avg_bytes_per_sec ?? null,
    temps: {},
    tempPeak: r.temperature_max_celsius ?? null,
  };
}

export function charts(history: readonly Sample[], current?: Sample | null, rollups: readonly Rollup[] = []): Chart[] {
  const samples = [...history, ...(current ? [current] : [])].filter((s) => !Number.isNaN(new Date(s.timestamp).getTime()));
  const memTotal = samples.find((s) => s.memory)?.memory?.total_bytes ?? null;
  const points = [
    ...rollups.filter((r) => !Number.isNaN(new Date(r.minute).getTime())).map((r) => fromRollup(r, memTotal)),
    ...samples.map(fromSample),
  ].sort((a, b) => a.t - b.t);
  const times = points.map((p) => p.t);
  const col = (f: (p: Point) => number | null | undefined) => points.map((p) => f(p) ?? null);
  const withPeaks = rollups.length > 0;

  const out: Chart[] = [];
  out.push({
    key: 'cpu',
    labels: withPeaks ? ['cpu', 'peak'] : ['cpu'],
    unit: '%',
    data: withPeaks ? [times, col((p) => p.cpu), col((p) => p.cpuPeak)] : [times, col((p) => p.cpu)],
  });
  out.push({ key: 'memory', labels: ['memory', 'swap'], unit: '%', data: [times, col((p) => p.mem), col((p) => p.swap)] });
  out.push({ key: 'load', labels: ['1m', '5m', '15m'], unit: '', data: [times, col((p) => p.load[0]), col((p) => p.load[1]), col((p) => p.load[2])] });
  const mounts = [...new Set(samples.flatMap((s) => (s.volumes ?? []).map((v) => v.mount_point)))].slice(0, 6);
  out.push({
    key: 'disk',
    labels: withPeaks ? ['fullest', ...mounts] : mounts,
    unit: '%',
    data: [times, ...(withPeaks ? [col((p) => p.fullest)] : []), ...mounts.map((m) => col((p) => p.mounts[m]))],
  });
  out.push({ key: 'network', labels: ['rx', 'tx'], unit: 'B/s', data: [times, col((p) => p.rx), col((p) => p.tx)] });
  const sensors = [...new Set(samples.flatMap((s) => (s.temperatures ?? []).map((t) => t.label)))].slice(0, 6);
  if (sensors.length || points.some((p) => p.tempPeak !== null)) {
    out.push({
      key: 'temperature',
      labels: withPeaks ? ['peak', ...sensors] : sensors,
      unit: '°C',
      data: [times, ...(withPeaks ? [col((p) => p.tempPeak)] : []), ...sensors.map((l) => col((p) => p.temps[l]))],
    });
  }
  return out;
}

/** The legend labels `charts` gives that are words, not data (mount points, sensors). */
export const LEGEND_WORDS = ['cpu', 'peak', 'memory', 'swap', '1m', '5m', '15m', 'fullest', 'rx', 'tx'] as const;

/** The charts with their legend words in the technician's language. */
export function localizeLegends(list: Chart[], t: (key: string) => string): Chart[] {
  const words = LEGEND_WORDS as readonly string[];
  return list.map((c) => ({ ...c, labels: c.labels.map((l) => (words.includes(l) ? t(`legend.${l}`) : l)) }));
}
