// The fleet overview's numbers as the page shows them. Pure, tested with
// Vitest.
import type { Schemas } from '../lib/api/client.svelte';
import type { Chart } from '../diagnostics/series';

type Fleet = Schemas['Fleet'];
type Label = (key: string, vars?: Record<string, string | number>) => string;

export const HEALTH_ORDER = ['critical', 'warning', 'unknown', 'ok'] as const;

/** Devices per health state, worst first, every state present. */
export function healthCounts(f: Fleet): { state: string; devices: number }[] {
  const of = (s: string) => f.by_health.find((c) => c.name === s)?.devices ?? 0;
  return HEALTH_ORDER.map((state) => ({ state, devices: of(state) }));
}

/** Tickets filed beside checks that started failing, per day, as one chart. */
export function activityChart(f: Fleet, label: Label): Chart {
  const times = f.days.map((d) => Date.parse(`${d.day}T00:00:00Z`) / 1000);
  return {
    key: 'activity',
    labels: [label('chart.tickets'), label('chart.failures')],
    data: [times, f.days.map((d) => d.tickets), f.days.map((d) => d.failures)],
    unit: '',
  };
}
