import { describe, expect, it } from 'vitest';
import { previousMonth } from '../../../src/jobs/jobs.ts';
import { onSiteFigures, percentile, responseFigures } from '../../../src/jobs/statistics.ts';

const row = (answeredAfterSeconds: number | null, opts: { resolvedBy?: string; severity?: string } = {}) => ({
  type: 'sos',
  severity: opts.severity ?? 'critical',
  raised_at: 1_000_000,
  acknowledged_at: answeredAfterSeconds === null || opts.resolvedBy ? null : 1_000_000 + answeredAfterSeconds * 1000,
  resolved_at: opts.resolvedBy ? 1_000_000 + (answeredAfterSeconds ?? 0) * 1000 : null,
  resolved_by: opts.resolvedBy ?? null,
});

describe('response statistics', () => {
  it('takes nearest-rank percentiles', () => {
    const xs = Array.from({ length: 100 }, (_, i) => i + 1);
    expect([percentile(xs, 50), percentile(xs, 90), percentile(xs, 99), percentile(xs, 100)]).toEqual([50, 90, 99, 100]);
    expect(percentile([7], 99)).toBe(7);
    expect(percentile([], 50)).toBeNull();
  });

  it('measures answers against the 60 s / 180 s targets, leaving out what nobody had to answer', () => {
    const figures = responseFigures([
      row(20),
      row(45),
      row(59),
      row(90),
      row(200),
      row(null), // still open: counts against the targets
      row(10, { resolvedBy: 'resident' }), // cancelled by the resident: nobody had to answer
      row(30, { resolvedBy: 'system' }), // cleared by itself
      row(50, { resolvedBy: 'operator-1' }), // resolved by a person without an acknowledgement: answered at 50 s
    ]);
    expect(figures).toMatchObject({ answerable: 7, answered: 6, unanswered: 1 });
    expect(figures.secondsToAnswer).toEqual({ p50: 50, p90: 200, p99: 200 });
    expect(figures.within).toEqual([
      { withinSeconds: 60, share: 0.5714, targetShare: 0.975, meetsTarget: false },
      { withinSeconds: 180, share: 0.7143, targetShare: 0.99, meetsTarget: false },
    ]);
  });

  it('counts only the station\'s answers: a family member\'s acknowledgement (older versions allowed it) is not one', () => {
    const figures = responseFigures([
      { ...row(30), acknowledged_by: 'operator:zhang' },
      { ...row(283), acknowledged_by: 'family:li.ming' },
      { ...row(283), acknowledged_by: 'family:li.ming', resolved_at: 1_000_000 + 400_000, resolved_by: 'operator:zhang' },
    ]);
    expect(figures).toMatchObject({ answerable: 3, answered: 2, unanswered: 1 });
    expect(figures.secondsToAnswer).toMatchObject({ p50: 30, p90: 400 });
  });

  it('measures time to the first responder on site against 18 minutes', () => {
    const at = (minutes: number | null) => ({ ...row(20), on_site_at: minutes === null ? null : 1_000_000 + minutes * 60_000 });
    expect(onSiteFigures([at(12), at(17.5), at(25), at(null)])).toEqual({ count: 3, minutesToOnSite: { p50: 17.5, p90: 25 }, withinTarget: { minutes: 18, share: 0.6667 } });
    expect(onSiteFigures([at(null)])).toEqual({ count: 0, minutesToOnSite: { p50: null, p90: null }, withinTarget: { minutes: 18, share: null } });
  });

  it('has no figures, rather than perfect ones, when there was nothing to answer', () => {
    expect(responseFigures([]).within[0]).toEqual({ withinSeconds: 60, share: null, targetShare: 0.975, meetsTarget: null });
  });
});

describe('month boundaries', () => {
  it('cuts the previous month at local midnight in the organisation\'s time zone', () => {
    // 2026-03-01 00:30 in Shanghai is still 2026-02-28 in UTC.
    const now = Date.UTC(2026, 1, 28, 16, 30);
    expect(previousMonth(now, 'Asia/Shanghai')).toEqual({ start: Date.UTC(2026, 0, 31, 16, 0), end: Date.UTC(2026, 1, 28, 16, 0), label: '2026-02' });
    expect(previousMonth(Date.UTC(2026, 0, 15), 'UTC')).toEqual({ start: Date.UTC(2025, 11, 1), end: Date.UTC(2026, 0, 1), label: '2025-12' });
  });
});
