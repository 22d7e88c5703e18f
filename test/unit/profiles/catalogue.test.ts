import { readdirSync, readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { quantities } from '../../../src/profiles/quantities.ts';
import { loadProfileDirectory } from '../../../src/profiles/registry.ts';
import { runFixtures } from '../../../src/profiles/fixtures.ts';
import { profileJsonSchemaText } from '../../../src/profiles/json-schema.ts';
import { readingSchema } from '../../../src/core/model.ts';
import { FIXTURE_DEVICE_ID, FIXTURE_RECEIVED_AT, fixturePayload } from '../../../src/profiles/fixtures.ts';
import { fillTopic } from '../../../src/profiles/topics.ts';

const dir = new URL('../../../device-profiles/', import.meta.url).pathname;
const registry = loadProfileDirectory(dir);
const profiles = registry.all();

describe('device-profile catalogue', () => {
  it('loads every profile file, one model per file', () => {
    const files = readdirSync(dir).filter((f) => f.endsWith('.json') && f !== 'profile.schema.json');
    expect(profiles.map((p) => `${p.id}.json`).sort()).toEqual(files.sort());
  });

  it('ships the reference device kinds', () => {
    const kinds = new Set(profiles.map((p) => p.profile.kind));
    for (const kind of ['sos_button', 'fall_detector', 'vitals_wearable', 'smoke_detector', 'gas_detector', 'water_leak_sensor', 'door_sensor', 'bed_sensor', 'motion_sensor']) {
      expect(kinds, kind).toContain(kind);
    }
    expect(profiles.filter((p) => p.profile.kind === 'vitals_wearable').length).toBeGreaterThanOrEqual(2);
    expect(new Set(profiles.map((p) => p.messages[0]!.spec.format))).toEqual(new Set(['json', 'binary', 'kv', 'custom']));
  });

  it('has unique ids and unique vendor/model pairs', () => {
    expect(new Set(profiles.map((p) => p.id)).size).toBe(profiles.length);
    expect(new Set(profiles.map((p) => `${p.profile.vendor}/${p.profile.model}`)).size).toBe(profiles.length);
  });

  it('keeps the committed JSON Schema in step with the zod schema (npm run profiles:schema)', () => {
    expect(readFileSync(`${dir}profile.schema.json`, 'utf8')).toBe(profileJsonSchemaText());
  });

  describe.each(profiles.map((p) => [p.id, p] as const))('%s', (_id, profile) => {
    it('has topics scoped to the device', () => {
      for (const m of profile.profile.messages) expect(m.topic).toMatch(/(^|\/)\{deviceId\}(\/|$)/);
      if (profile.profile.commands) expect(profile.profile.commands.topic).toMatch(/(^|\/)\{deviceId\}(\/|$)/);
    });

    it('declares ranges inside the physical bounds of each quantity', () => {
      for (const m of profile.profile.messages) {
        for (const r of m.readings) {
          const [lo, hi] = quantities[r.kind].bounds;
          if (r.range) {
            expect(r.range[0], `${r.kind} low`).toBeGreaterThanOrEqual(lo);
            expect(r.range[1], `${r.kind} high`).toBeLessThanOrEqual(hi);
            expect(r.range[0]).toBeLessThan(r.range[1]);
          }
        }
      }
    });

    it('has alarm rules that read quantities the device measures', () => {
      const measured = new Set(profile.profile.messages.flatMap((m) => m.readings.map((r) => r.kind)));
      for (const rule of profile.profile.alarmRules) {
        if (rule.kind === 'threshold') expect(measured, rule.alarm).toContain(rule.reading);
      }
    });

    it('has event rules only for events it can emit (and cancels and clears it can send)', () => {
      const emitted = new Set(profile.summary().events as string[]);
      for (const rule of profile.profile.alarmRules) {
        if (rule.kind !== 'event') continue;
        expect(emitted, `${rule.alarm} raised by ${rule.event}`).toContain(rule.event);
        for (const e of [...(rule.cancelledBy ?? []), ...(rule.clearedBy ?? [])]) expect(emitted, `${rule.alarm} ended by ${e}`).toContain(e);
      }
    });

    it('passes every fixture', () => {
      const results = runFixtures(profile);
      const failed = results.filter((r) => !r.ok).map((r) => `${r.name}: ${r.problems.join('; ')}`);
      expect(failed).toEqual([]);
      // Every profile proves both an accepted and a rejected input.
      expect(profile.profile.fixtures.some((f) => f.expect.rejected || f.expect.rejectedFields)).toBe(true);
    });

    it('decodes fixtures into valid normalised readings', () => {
      for (const f of profile.profile.fixtures) {
        const topic = fillTopic(f.topic, FIXTURE_DEVICE_ID);
        const outcome = profile.messageFor(FIXTURE_DEVICE_ID, topic)!.decode(fixturePayload(f), FIXTURE_RECEIVED_AT);
        if (!outcome.ok) continue;
        for (const r of outcome.decoded.readings) {
          expect(readingSchema.safeParse({ ...r, deviceId: FIXTURE_DEVICE_ID, ts: outcome.decoded.ts }).success).toBe(true);
          expect(r.unit).toBe(quantities[r.kind].unit);
        }
      }
    });
  });
});
