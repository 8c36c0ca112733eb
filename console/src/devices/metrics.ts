// A device's metrics from GET /api/v1/devices/{id}/metrics as charts: the
// ranges a technician picks, and the series of each chart in uPlot's
// column shape. The desk gives min / avg / max per bucket; single series
// show all three (a spike survives as the max line), series with several
// instances (volumes, interfaces, batteries) their average each.
import type { Schemas } from '../lib/api/client.svelte';
import type { Chart } from '../diagnostics/series';

type Metrics = Schemas['DeviceMetrics'];
type Series = Schemas['MetricSeries'];

export const RANGES = { '1h': 3600, '24h': 86_400, '7d': 7 * 86_400, '30d': 30 * 86_400 } as const;
export type Range = keyof typeof RANGES;

export function isRange(s: string | null): s is Range {
  return s !== null && Object.prototype.hasOwnProperty.call(RANGES, s);
}

/** The API query for a range ending at `now` (milliseconds). */
export function rangeQuery(range: Range, now: number): { from: string; to: string } {
  const to = Math.ceil(now / 60_000) * 60_000;
  return { from: new Date(to - RANGES[range] * 1000).toISOString(), to: new Date(to).toISOString() };
}

type Label = (key: string, vars?: Record<string, string | number>) => string;

function spread(times: number[], s: Series, label: Label, name: string): { labels: string[]; cols: (number | null)[][] } {
  return {
    labels: [label('chart.min', { name }), label('chart.avg', { name }), label('chart.max', { name })],
    cols: [s.min, s.avg, s.max].map((c) => times.map((_, i) => c[i] ?? null)),
  };
}

/** The charts of a metrics answer, in a fixed order; kinds with no data are left out. */
export function deviceCharts(m: Metrics, label: Label): Chart[] {
  const times = m.times;
  const of = (kind: string) => m.series.filter((s) => s.kind === kind);
  const col = (c: (number | null)[]) => times.map((_, i) => c[i] ?? null);
  const out: Chart[] = [];
  const single = (key: Chart['key'], kind: string, unit: Chart['unit']) => {
    const s = of(kind)[0];
    if (!s) return;
    const { labels, cols } = spread(times, s, label, label(`chart.${key}`));
    out.push({ key, labels, data: [times, ...cols], unit });
  };
  single('cpu', 'cpu', '%');
  const mem = of('memory_used')[0];
  if (mem) {
    const { labels, cols } = spread(times, mem, label, label('chart.series_memory'));
    const swap = of('swap_used')[0];
    out.push({
      key: 'memory',
      labels: swap ? [...labels, label('chart.avg', { name: label('chart.series_swap') })] : labels,
      data: swap ? [times, ...cols, col(swap.avg)] : [times, ...cols],
      unit: 'B',
    });
  }
  single('load', 'load1', '');
  const volumes = of('volume_used');
  if (volumes.length) {
    out.push({ key: 'disk', labels: volumes.map((v) => v.instance ?? v.name), data: [times, ...volumes.map((v) => col(v.max))], unit: '%' });
  }
  const net = [...of('net_rx'), ...of('net_tx')];
  if (net.length) {
    out.push({
      key: 'network',
      labels: net.map((s) => label(s.kind === 'net_rx' ? 'chart.rx' : 'chart.tx', { name: s.instance ?? '' })),
      data: [times, ...net.map((s) => col(s.avg))],
      unit: 'B/s',
    });
  }
  single('temperature', 'temperature', '°C');
  const batteries = of('battery');
  if (batteries.length) {
    out.push({ key: 'battery', labels: batteries.map((b) => b.instance ?? b.name), data: [times, ...batteries.map((b) => col(b.avg))], unit: '%' });
  }
  single('processes', 'processes', '');
  return out;
}
