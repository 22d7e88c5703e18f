import { describe, expect, it } from 'vitest';
import { nextDaily, nextHourly, nextMonthly } from '../../../src/jobs/jobs.ts';

/** When the scheduled jobs fall due on the gateway's clock, in the organisation's time zone. */
describe('job times on the clock', () => {
  const sh = (iso: string) => Date.parse(`${iso}+08:00`);
  const at = (t: number) => new Date(t + 8 * 3_600_000).toISOString().slice(0, 16).replace('T', ' ');

  it('daily at a local time: later today, else tomorrow; never the same instant again', () => {
    expect(at(nextDaily(sh('2026-03-01T08:59:59'), 9, 0, 'Asia/Shanghai'))).toBe('2026-03-01 09:00');
    expect(at(nextDaily(sh('2026-03-01T09:00:00'), 9, 0, 'Asia/Shanghai'))).toBe('2026-03-02 09:00');
    expect(at(nextDaily(sh('2026-12-31T23:30:00'), 6, 0, 'Asia/Shanghai'))).toBe('2027-01-01 06:00');
    // Another zone, across a daylight-saving change: 09:00 local is 08:00 UTC in winter, 07:00 in summer.
    expect(new Date(nextDaily(Date.parse('2026-03-28T10:00:00Z'), 9, 0, 'Europe/Berlin')).toISOString()).toBe('2026-03-29T07:00:00.000Z');
  });

  it('monthly on the 1st, and hourly at a minute', () => {
    expect(at(nextMonthly(sh('2026-11-20T10:00:00'), 1, 'Asia/Shanghai'))).toBe('2026-12-01 01:00');
    expect(at(nextMonthly(sh('2026-12-01T00:30:00'), 1, 'Asia/Shanghai'))).toBe('2026-12-01 01:00');
    expect(at(nextMonthly(sh('2026-12-01T01:00:00'), 1, 'Asia/Shanghai'))).toBe('2027-01-01 01:00');
    expect(at(nextHourly(sh('2026-12-01T10:16:00'), 17, 'Asia/Shanghai'))).toBe('2026-12-01 10:17');
    expect(at(nextHourly(sh('2026-12-01T10:17:00'), 17, 'Asia/Shanghai'))).toBe('2026-12-01 11:17');
  });
});
