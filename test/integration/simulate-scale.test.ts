import { describe, expect, it } from 'vitest';
import { scenarioSchema } from '../../simulators/scenario.ts';
import { runScenario } from '../../simulators/simulate.ts';

/**
 * Hundreds of simulated devices, each a real MQTT client with its own
 * credentials, provisioned through the API: every one connects and reports.
 * The 5,000-device run and its rates are `npm run bench:simulate`.
 */
describe('simulator at scale', () => {
  it('provisions and connects 450 devices, and all of them report', async () => {
    const kit = 9;
    const scenario = scenarioSchema.parse({ name: 'scale', description: 'scale check', residents: Math.ceil(450 / kit), stations: 5, durationMinutes: 2 });
    const run = await runScenario({ scenario, seed: 1, speed: 60 });
    expect(run.stats.devices).toBeGreaterThanOrEqual(450);
    expect(run.stats.connected).toBe(run.stats.devices);
    expect(run.stats.published).toBeGreaterThanOrEqual(run.stats.devices); // everyone reported at least once in the first minute
    expect(run.stats.failed).toBe(0);
    expect(run.verification.unexpected).toEqual([]);
  }, 120_000);
});
