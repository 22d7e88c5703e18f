import { readdirSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { loadScenario } from '../../simulators/scenario.ts';
import { runScenario } from '../../simulators/simulate.ts';
import { root } from '../helpers/processes.ts';

const dir = join(root, 'simulators/scenarios');

/**
 * The project's end-to-end harness: every shipped scenario runs against a
 * real gateway (on simulated time, 10 simulated minutes a second), every
 * device a real MQTT client publishing in its own vendor's format, and the
 * alarms raised must be exactly the ones the scenario expects.
 */
describe('simulator scenarios, verified against the alarms a real gateway raises', () => {
  const files = readdirSync(dir).filter((f) => f.endsWith('.json'));

  it('ships at least the evening, night and day scenarios', () => {
    expect(files).toEqual(expect.arrayContaining(['evening-fall-sos.json', 'night-bed-exit-silent.json', 'day-vitals-smoke.json']));
  });

  for (const file of files) {
    it(file, async () => {
      const lines: string[] = [];
      const run = await runScenario({ scenario: loadScenario(join(dir, file)), seed: 42, speed: 600, out: (l) => lines.push(l) });
      expect(run.verification.missing, lines.join('\n')).toEqual([]);
      expect(run.verification.unexpected, lines.join('\n')).toEqual([]);
      expect(run.stats.failed).toBe(0);
      expect(run.stats.published).toBeGreaterThan(100);
      expect(run.stats.alarms, 'the progress line counts alarms from the live stream').toBeGreaterThan(0);
    }, 60_000);
  }
});
