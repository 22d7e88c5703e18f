import { describe, expect, it } from 'vitest';
import { RunClock } from '../../../simulators/simulate.ts';

const START = Date.parse('2026-11-01T16:00:00Z');

/** The simulated clock a run (a soak, a simulation) and its gateway share. */
describe('RunClock', () => {
  it('stops at its hold, and a hold set behind the time shown stops it there instead of taking it back', () => {
    const clock = new RunClock(1_000, START);
    let hold = START + 60_000;
    clock.holdAt(() => hold);
    expect(clock.now()).toBeLessThan(START);
    clock.begin();
    expect(clock.now()).toBeGreaterThanOrEqual(START);
    expect(clock.now()).toBeLessThanOrEqual(START + 60_000);
    hold = START + 30_000;
    const shown = clock.now();
    hold = START - 5_000; // behind what it has shown: never backwards
    expect(clock.now()).toBe(shown);
    hold = START + 120_000;
    expect(clock.now()).toBeGreaterThanOrEqual(shown);
  });

  it("begun from another clock's instant, shows the same simulated time as that clock", () => {
    const a = new RunClock(3_000, START);
    a.begin();
    const b = new RunClock(3_000, START);
    b.begin(a.begun);
    // Same instant, same speed: the two read within a few real milliseconds of each other (3 s simulated each).
    const [x, y] = [a.now(), b.now()];
    expect(Math.abs(x - y)).toBeLessThan(30_000);
    expect(b.begun).toEqual(a.begun);
  });

  it('a hold of -∞ (waiting for another clock that has not spoken yet) keeps the time shown before it began', () => {
    const clock = new RunClock(1_000, START);
    clock.holdAt(() => Number.NEGATIVE_INFINITY);
    const before = clock.now();
    clock.begin();
    expect(clock.now()).toBe(before);
    expect(Number.isFinite(clock.now())).toBe(true);
  });
});
