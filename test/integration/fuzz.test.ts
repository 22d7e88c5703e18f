import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ManualClock } from '../../src/core/clock.ts';
import { FIXTURE_RECEIVED_AT, fixturePayload } from '../../src/profiles/fixtures.ts';
import { fillTopic } from '../../src/profiles/topics.ts';
import { startGateway, type TestGateway } from '../helpers/gateway.ts';
import { alarmsAllowed, mutants } from '../helpers/mutations.ts';

/** Cases per profile; `bench:fuzz` runs many more. Seeded, so a failure replays. */
const RUNS = 2_000;
const SEED = 20_261_201;

/**
 * Property: for every profile, mutated fixtures never make ingest throw, never
 * raise an alarm the decoded message could not cause (a rejected message
 * raises nothing), and never stall the device's MQTT session.
 */
describe('fuzzing every profile with mutated fixtures', () => {
  let gw: TestGateway;
  const devices = new Map<string, { id: string; password: string }>();
  const clock = new ManualClock(FIXTURE_RECEIVED_AT); // 08:00 in Shanghai: no night rule is in play

  beforeAll(async () => {
    // A fuzzing device sends faster than any real one: its rate is not what is tested here.
    gw = await startGateway({ clock, config: { deviceBurst: 1_000_000, deviceRate: 100_000 }, alarms: { tickMs: 0 } });
    const { residentId } = await gw.seedResident();
    for (const profile of gw.app.profiles.all()) {
      const creds = await gw.onboardDevice(profile.id, residentId, `fuzz-${profile.id}`);
      devices.set(profile.id, { id: creds.id, password: creds.mqtt.password });
    }
  });
  afterAll(() => gw.stop());

  const profiles = () => gw.app.profiles.all();

  it('covers every profile in the catalogue', () => {
    expect(profiles().length).toBeGreaterThanOrEqual(11);
  });

  it(`ingest never throws, and raises only what the decoded message can cause (${RUNS} cases a profile)`, async () => {
    const alarms: string[] = [];
    const seen = { alarms: 0, rejected: 0, accepted: 0 };
    const offRaised = gw.app.bus.on('alarm.raised', ({ alarm }) => alarms.push(alarm.type));
    const offUpdated = gw.app.bus.on('alarm.updated', ({ alarm, change }) => (change === 'repeated' || change === 'severity_raised') && alarms.push(alarm.type));
    try {
      for (const profile of profiles()) {
        const device = gw.app.directory.get(devices.get(profile.id)!.id)!;
        await fc.assert(
          fc.asyncProperty(mutants(profile), async (mutant) => {
            alarms.length = 0;
            clock.advance(100);
            const topic = fillTopic(mutant.topic, device.id);
            const result = await gw.app.ingest.handle({ device, topic, payload: mutant.payload, receivedAt: clock.now() });
            const allowed = alarmsAllowed(profile, mutant, device.id, clock.now());
            seen.alarms += alarms.length;
            if (result.outcome === 'rejected') seen.rejected++;
            if (result.outcome === 'accepted') seen.accepted++;
            for (const type of alarms) if (!allowed.has(type)) throw new Error(`${profile.id}: ${mutant.how} raised ${type}; the decoded message allows [${[...allowed].join(', ')}]`);
            if (result.outcome === 'rejected' && alarms.length > 0) throw new Error(`${profile.id}: a rejected message raised ${alarms.join(', ')}`);
            // Caught and dead-lettered, but a bug all the same: a decoder or the pipeline threw.
            if (result.code === 'decoder_error' || result.code === 'processing_failed') throw new Error(`${profile.id}: ${mutant.how} made the gateway fail (${result.code})`);
            // The decoder alone, as a device's profile test would run it, must not throw either.
            profile.messageFor(device.id, topic)?.decode(mutant.payload, clock.now(), device.id);
          }),
          { numRuns: RUNS, seed: SEED },
        );
      }
    } finally {
      offRaised();
      offUpdated();
    }
    // The mutations reach both sides: messages refused, messages accepted, and alarms raised by the valid ones.
    expect(seen.rejected).toBeGreaterThan(RUNS);
    expect(seen.accepted).toBeGreaterThan(RUNS);
    expect(seen.alarms).toBeGreaterThan(100);
  }, 120_000);

  it('a device sending mutated payloads over MQTT keeps its session: every message acknowledged, the next good one stored', async () => {
    for (const profile of profiles()) {
      const { id, password } = devices.get(profile.id)!;
      const client = await gw.connect({ id, profile: profile.id, mqtt: { clientId: id, username: id, password, topics: { publish: [], subscribe: [] } } }, { clean: false });
      const sample = fc.sample(mutants(profile), { seed: SEED, numRuns: 150 });
      // Each publish resolves on its PUBACK: a message the gateway withheld it for would hang here.
      await Promise.all(sample.map((m) => client.publishAsync(fillTopic(m.topic, id), m.payload, { qos: 1 })));
      expect(client.connected, profile.id).toBe(true);
      const fixture = profile.profile.fixtures.find((f) => f.expect.rejected === undefined && f.expect.readings.length > 0);
      if (fixture) {
        const stored = gw.waitFor('device.readings', (r) => r.device.id === id);
        await client.publishAsync(fillTopic(fixture.topic, id), fixturePayload(fixture), { qos: 1 });
        expect((await stored).readings.length, profile.id).toBe(fixture.expect.readings.length);
      }
      await client.endAsync();
    }
  }, 120_000);
});
