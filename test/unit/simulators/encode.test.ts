import { describe, expect, it } from 'vitest';
import { defaultProfilesDir } from '../../../src/app.ts';
import { fixturePayload, FIXTURE_DEVICE_ID } from '../../../src/profiles/fixtures.ts';
import { loadProfileDirectory } from '../../../src/profiles/registry.ts';
import { fillTopic } from '../../../src/profiles/topics.ts';
import { encode } from '../../../simulators/encode.ts';

const registry = loadProfileDirectory(defaultProfilesDir);

/**
 * The simulator's encoder is the decoder run backwards, built from the same
 * profile data. For every fixture of every profile that decodes: decode it,
 * encode what came out, decode that again, and get the same readings, events,
 * sequence number, device time and online state.
 */
describe('encoder round trip over the whole profile catalogue', () => {
  for (const profile of registry.all()) {
    it(profile.id, () => {
      let checked = 0;
      for (const fixture of profile.profile.fixtures) {
        if (fixture.expect.rejected !== undefined || (fixture.expect.rejectedFields ?? []).length > 0) continue;
        const topic = fillTopic(fixture.topic, FIXTURE_DEVICE_ID);
        const message = profile.messageFor(FIXTURE_DEVICE_ID, topic)!;
        const first = message.decode(fixturePayload(fixture), fixture.receivedAt ?? 1_767_225_600_000);
        if (!first.ok) throw new Error(`${fixture.name}: ${first.reason}`);
        const d = first.decoded;
        const seq = d.events.find((e) => e.seq !== undefined)?.seq;
        const out = encode(profile.profile, FIXTURE_DEVICE_ID, {
          ts: d.ts,
          readings: Object.fromEntries(d.readings.map((r) => [r.kind, r.value])),
          events: d.events.map((e) => e.type),
          ...(seq !== undefined ? { seq } : {}),
          ...(d.online !== undefined ? { online: d.online } : {}),
        }, message.spec);
        expect(out.topic, fixture.name).toBe(topic);
        const again = message.decode(out.payload, fixture.receivedAt ?? 1_767_225_600_000);
        if (!again.ok) throw new Error(`${fixture.name}: re-encoded payload rejected: ${again.reason} (${out.payload.toString()})`);
        const r = again.decoded;
        const norm = (rs: Array<{ kind: string; value: number }>) => rs.map((x) => `${x.kind}=${x.value}`).sort();
        expect(norm(r.readings), fixture.name).toEqual(norm(d.readings));
        expect(r.events.map((e) => `${e.type}#${e.seq ?? ''}`).sort(), fixture.name).toEqual(d.events.map((e) => `${e.type}#${e.seq ?? ''}`).sort());
        expect(r.ts, fixture.name).toBe(d.ts);
        expect(r.online, fixture.name).toBe(d.online);
        checked++;
      }
      expect(checked).toBeGreaterThan(0);
    });
  }
});
