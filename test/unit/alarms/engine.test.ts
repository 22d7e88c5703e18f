import { describe, expect, it } from 'vitest';
import { AlarmEngine } from '../../../src/alarms/engine.ts';
import type { AlarmService } from '../../../src/alarms/service.ts';
import { silentLogger } from '../../../src/core/logger.ts';

/** The engine's runs, against a service and a worker the test controls. */
describe('alarm engine', () => {
  it('runs one at a time: kicks during a run ask for one more run after it, not a crowd of runs at once', async () => {
    let active = 0;
    let most = 0;
    let runs = 0;
    let release!: () => void;
    let gate = new Promise<void>((r) => (release = r));
    const started: Array<() => void> = [];
    const service = {
      async fireDueSteps() {
        runs++;
        active++;
        most = Math.max(most, active);
        for (const s of started.splice(0)) s();
        await gate;
        active--;
        return 0;
      },
    } as unknown as AlarmService;
    const engine = new AlarmEngine({ service, evaluator: { tick: async () => {} }, worker: { tick: async () => {}, idle: async () => {} }, log: silentLogger });
    const nextRun = () => new Promise<void>((r) => started.push(r));
    const first = nextRun();
    engine.kick();
    await first;
    // A commit's kick arrives every so often while the first run is still firing steps.
    for (let i = 0; i < 10; i++) {
      engine.kick();
      await new Promise((r) => setImmediate(r));
    }
    expect(runs).toBe(1);
    const second = nextRun();
    release();
    gate = new Promise<void>((r) => (release = r));
    await second; // the kicks asked for one more run, and it came
    release();
    await engine.stop();
    expect(most).toBe(1);
    expect(runs).toBe(2);
  });
});
