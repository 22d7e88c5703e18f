import { readdirSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { loadScenario } from '../../simulators/scenario.ts';
import { runScenario } from '../../simulators/simulate.ts';
import { root } from '../helpers/processes.ts';
import type { ScenarioRun } from '../../simulators/simulate.ts';
import { expectedTestReminders, generateActions } from '../../simulators/behaviour.ts';
import { loadProfileDirectory } from '../../src/profiles/registry.ts';
import { defaultProfilesDir } from '../../src/app.ts';

const profiles = loadProfileDirectory(defaultProfilesDir);
import type { Target } from '../../simulators/runner.ts';

/** The street centre's statistics for the run, and the visits recorded there, from the gateway's API. */
async function careStatistics(target: Target, run: ScenarioRun) {
  const get = async (path: string) => (await fetch(`${target.apiUrl}/api/v1${path}`, { headers: { authorization: `Bearer ${target.token}` } })).json();
  const range = `from=${new Date(run.start).toISOString()}&to=${new Date(run.end).toISOString()}`;
  const stats = await get(`/stations/${run.plan.streetId}/statistics?${range}`);
  const visits = (await get(`/visits?stationId=${run.plan.streetId}&${range}`)) as unknown[];
  const alarms = (await get(`/alarms?stationId=${run.plan.streetId}&limit=500`)) as Array<{ type: string }>;
  return { stats, visits: visits.length, reminders: alarms.filter((a) => a.type === 'device_test_overdue').length };
}

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
      const scenario = loadScenario(join(dir, file));
      // Ten simulated minutes a second, or faster for a long run: none takes much over half a minute.
      const speed = Math.max(600, scenario.durationMinutes * 2);
      let statistics: Awaited<ReturnType<typeof careStatistics>> | undefined;
      const run = await runScenario({ scenario, seed: 42, speed, out: (l) => lines.push(l), afterRun: async (target, r) => void (statistics = await careStatistics(target, r)) });
      expect(run.verification.missing, lines.join('\n')).toEqual([]);
      expect(run.verification.unexpected, lines.join('\n')).toEqual([]);
      expect(run.stats.failed).toBe(0);
      expect(run.stats.published).toBeGreaterThan(100);
      // The daily button-test reminders ran on the simulated clock: one alarm for each stretch of days a pendant was overdue.
      const reminders = expectedTestReminders(run.plan, generateActions(run.plan, scenario, run.start, profiles), run.start, run.end).reduce((a, b) => a + b, 0);
      expect(statistics!.reminders, 'button-test reminders').toBe(reminders);
      if (scenario.expect.length === 0) expect(run.stats.alarms, 'only the reminders: no alarm from tests, service presses or visits').toBe(reminders);
      else expect(run.stats.alarms, 'the progress line counts alarms from the live stream').toBeGreaterThan(0);

      // The care programmes: the station's statistics count what the scenario did.
      const s = statistics!.stats;
      expect(s.serviceRequests.count, 'service requests').toBe(run.did.serviceRequests);
      expect(s.serviceRequests.bySource.device ?? 0).toBe(run.did.serviceRequests);
      expect(s.deviceTests.tests, 'button tests').toBe(run.did.buttonTests);
      expect(statistics!.visits, 'visits recorded').toBe(run.did.visits.phone + run.did.visits.home);
      expect(run.stats.visits).toBe(run.did.visits.phone + run.did.visits.home);
      // The visit rate for those who live alone (a phone greeting a week, a home visit a month; a home visit does for a call).
      const days = (run.end - run.start) / 86_400_000;
      const alone = run.plan.residents.filter((r) => r.livesAlone);
      const due = alone.length * (Math.floor(days / 7) + Math.floor(days / 30));
      const done = alone.reduce((n, r) => {
        const reached = run.did.reachedBy.get(r.index) ?? { phone: 0, home: 0 };
        return n + Math.min(Math.floor(days / 7), reached.phone + reached.home) + Math.min(Math.floor(days / 30), reached.home);
      }, 0);
      expect({ due: s.visits.due, done: s.visits.done }, 'visit rate').toEqual({ due, done });
    }, 150_000);
  }
});
