import { describe, expect, it } from 'vitest';
import { scenarioSchema } from '../../simulators/scenario.ts';
import { runScenario } from '../../simulators/simulate.ts';

/** 5,000 simulated devices, each a real MQTT client with its own credentials, provisioned through the API. The rate is printed, not asserted. */
describe('simulator at scale', () => {
  it('provisions and connects 5,000 devices, and all of them report', async () => {
    const kit = 9;
    const scenario = scenarioSchema.parse({ name: 'scale', description: 'scale check', residents: Math.ceil(5000 / kit), stations: 10, durationMinutes: 2 });
    const lines: string[] = [];
    const run = await runScenario({ scenario, seed: 1, speed: 60, out: (l) => lines.push(l) });
    expect(run.stats.devices).toBeGreaterThanOrEqual(5000);
    expect(run.stats.connected).toBe(run.stats.devices);
    expect(run.stats.published).toBeGreaterThanOrEqual(run.stats.devices); // everyone reported at least once in the first minute
    expect(run.stats.failed).toBe(0);
    expect(run.verification.unexpected).toEqual([]);
    console.log(`scale: ${run.stats.devices} devices connected in ${run.stats.connectSeconds.toFixed(1)} s (${Math.round(run.stats.devices / run.stats.connectSeconds)}/s); ${run.stats.published} messages`);
  }, 240_000);
});
