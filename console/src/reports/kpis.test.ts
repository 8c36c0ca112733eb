import { describe, expect, it } from 'vitest';
import { addDays, apiQuery, backlogBuckets, complianceSeries, csvHref, fromSearch, overallCompliance, preset, share, toSearch, volumeSeries } from './kpis';

const NOW = Date.parse('2026-12-02T15:00:00Z');

describe('the KPI period in the URL', () => {
  it('defaults to the last 30 days including today', () => {
    expect(fromSearch('', NOW)).toEqual({ from: '2026-11-03', to: '2026-12-03', group: '' });
  });

  it('round-trips a period and a split', () => {
    const v = { from: '2026-01-01', to: '2027-01-01', group: 'team' as const };
    expect(fromSearch(toSearch(v), NOW)).toEqual(v);
    expect(apiQuery(v)).toEqual({ from: '2026-01-01', to: '2027-01-01', group_by: 'team' });
  });

  it('ignores impossible days and splits, and never has an empty period', () => {
    expect(fromSearch('?from=2026-02-30&to=2026-13-01&group_by=planet', NOW)).toEqual(fromSearch('', NOW));
    expect(fromSearch('?from=2026-05-10&to=2026-05-10', NOW)).toEqual({ from: '2026-05-09', to: '2026-05-10', group: '' });
  });

  it('has presets ending today and a CSV address', () => {
    expect(preset(7, NOW)).toEqual({ from: '2026-11-26', to: '2026-12-03' });
    expect(addDays('2026-12-31', 1)).toBe('2027-01-01');
    expect(csvHref({ from: '2026-01-01', to: '2026-02-01', group: 'priority' }, 'series')).toBe(
      '/api/v1/reports/kpis?from=2026-01-01&to=2026-02-01&group_by=priority&format=csv&table=series',
    );
  });
});

describe('the figures as read', () => {
  it('shows no share where nothing was counted', () => {
    expect(share({ count: 0, of: 0, rate: null })).toBeNull();
    expect(share({ count: 3, of: 4, rate: 0.75 })).toBe(0.75);
  });

  it('adds compliance over the clocks by counts, not by averaging rates', () => {
    expect(
      overallCompliance([
        { clock: 'first_response', met: 9, breached: 1, compliance: 0.9 },
        { clock: 'resolution', met: 0, breached: 10, compliance: 0 },
      ]),
    ).toBe(0.45);
    expect(overallCompliance([])).toBeNull();
  });

  it('turns days into chart data', () => {
    const days = [
      { day: '2026-12-01', created: 4, resolved: 2, sla_met: 3, sla_breached: 1, ratings: 0, good_ratings: 0 },
      { day: '2026-12-02', created: 1, resolved: 0, sla_met: 0, sla_breached: 0, ratings: 0, good_ratings: 0 },
    ];
    expect(volumeSeries(days)).toEqual([[1796083200, 1796169600], [4, 1], [2, 0]]);
    expect(complianceSeries(days)[1]).toEqual([75, null]);
  });

  it('keeps the backlog buckets in age order', () => {
    const b = backlogBuckets({ total: 15, under_1d: 1, from_1d_to_3d: 2, from_3d_to_10d: 3, from_10d_to_30d: 4, over_30d: 5 });
    expect(b.map((x) => x.count)).toEqual([1, 2, 3, 4, 5]);
  });
});
