// The bundle's metric history as chart series: aligned columns of
// numbers (uPlot's data shape), one time axis in seconds, gaps as null.
import type { Schemas } from '../lib/api/client.svelte';

type Sample = Schemas['MetricSample'];

export interface Chart {
  key: 'cpu' | 'memory' | 'load' | 'disk' | 'network' | 'temperature';
  /** Series labels (the legend). */
  labels: string[];
  /** [times, ...series]. */
  data: (number | null)[][];
  unit: '%' | 'B/s' | '°C' | '';
}

export function charts(history: readonly Sample[], current?: Sample | null): Chart[] {
  const samples = [...history, ...(current ? [current] : [])]
    .filter((s) => !Number.isNaN(new Date(s.timestamp).getTime()))
    .sort((a, b) => new Date(a.timestamp).getTime() - new Date(b.timestamp).getTime());
  const times = samples.map((s) => new Date(s.timestamp).getTime() / 1000);
  const col = (f: (s: Sample) => number | null | undefined) => samples.map((s) => f(s) ?? null);

  const out: Chart[] = [];
  out.push({ key: 'cpu', labels: ['cpu'], unit: '%', data: [times, col((s) => s.cpu?.usage_percent)] });
  out.push({
    key: 'memory',
    labels: ['memory', 'swap'],
    unit: '%',
    data: [
      times,
      col((s) => (s.memory && s.memory.total_bytes > 0 ? (100 * s.memory.used_bytes) / s.memory.total_bytes : null)),
      col((s) => (s.memory && s.memory.swap_total_bytes > 0 ? (100 * s.memory.swap_used_bytes) / s.memory.swap_total_bytes : null)),
    ],
  });
  out.push({
    key: 'load',
    labels: ['1m', '5m', '15m'],
    unit: '',
    data: [times, col((s) => s.load_average?.one), col((s) => s.load_average?.five), col((s) => s.load_average?.fifteen)],
  });
  const mounts = [...new Set(samples.flatMap((s) => (s.volumes ?? []).map((v) => v.mount_point)))].slice(0, 6);
  out.push({
    key: 'disk',
    labels: mounts,
    unit: '%',
    data: [
      times,
      ...mounts.map((m) =>
        col((s) => {
          const v = (s.volumes ?? []).find((x) => x.mount_point === m);
          return v && v.total_bytes > 0 ? (100 * (v.total_bytes - v.free_bytes)) / v.total_bytes : null;
        }),
      ),
    ],
  });
  out.push({
    key: 'network',
    labels: ['rx', 'tx'],
    unit: 'B/s',
    data: [
      times,
      col((s) => (s.network?.length ? s.network.reduce((a, n) => a + n.rx_bytes_per_sec, 0) : null)),
      col((s) => (s.network?.length ? s.network.reduce((a, n) => a + n.tx_bytes_per_sec, 0) : null)),
    ],
  });
  const sensors = [...new Set(samples.flatMap((s) => (s.temperatures ?? []).map((t) => t.label)))].slice(0, 6);
  if (sensors.length) {
    out.push({
      key: 'temperature',
      labels: sensors,
      unit: '°C',
      data: [times, ...sensors.map((l) => col((s) => (s.temperatures ?? []).find((t) => t.label === l)?.celsius))],
    });
  }
  return out;
}
