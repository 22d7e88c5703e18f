import { afterEach, describe, expect, it, vi } from 'vitest';
import { saveEverySecond } from '../../../src/modules/devices.ts';

/** The once-a-second writer of devices' live state, on a fake timer, against a directory the test controls. */
describe('device state saver', () => {
  afterEach(() => void vi.useRealTimers());

  const directory = () => {
    const d = {
      dirty: 0,
      writes: [] as number[],
      fail: false,
      get unsaved() {
        return d.dirty;
      },
      async persist(max = Infinity) {
        if (d.fail) throw new Error('disk full');
        const n = Math.min(max, d.dirty);
        d.dirty -= n;
        d.writes.push(n);
        return n;
      },
    };
    return d;
  };

  it('keeps writing after a second with nothing to write, in slices of 100', async () => {
    vi.useFakeTimers({ toFake: ['setInterval', 'clearInterval'] }); // the round's own setImmediate runs for real
    const d = directory();
    const saver = saveEverySecond(d, () => {});
    await vi.advanceTimersByTimeAsync(1_000); // nothing changed: no round
    await vi.advanceTimersByTimeAsync(1_000);
    expect(d.writes).toEqual([]);
    d.dirty = 250;
    await vi.advanceTimersByTimeAsync(1_000);
    await expect.poll(() => d.writes).toEqual([100, 100, 50]);
    d.dirty = 3;
    await vi.advanceTimersByTimeAsync(1_000);
    await expect.poll(() => d.writes).toEqual([100, 100, 50, 3]);
    await saver.stop();
  });

  it('reports a failed round and writes at the next one', async () => {
    vi.useFakeTimers({ toFake: ['setInterval', 'clearInterval'] }); // the round's own setImmediate runs for real
    const d = directory();
    const errors: unknown[] = [];
    const saver = saveEverySecond(d, (err) => errors.push(err));
    d.dirty = 5;
    d.fail = true;
    await vi.advanceTimersByTimeAsync(1_000);
    await expect.poll(() => errors).toHaveLength(1);
    d.fail = false;
    await vi.advanceTimersByTimeAsync(1_000);
    await expect.poll(() => d.writes).toEqual([5]);
    await saver.stop();
  });
});
