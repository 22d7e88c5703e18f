import { fillTopic } from './topics.ts';
import type { CompiledProfile } from './registry.ts';
import type { Fixture } from './schema.ts';

/** The receive time used for fixtures that do not give one: 2026-01-01T00:00:00Z. */
export const FIXTURE_RECEIVED_AT = 1_767_225_600_000;
export const FIXTURE_DEVICE_ID = 'fixture-device-01';

export function fixturePayload(fixture: Fixture): Buffer {
  if (fixture.payloadHex !== undefined) return Buffer.from(fixture.payloadHex, 'hex');
  if (fixture.payloadText !== undefined) return Buffer.from(fixture.payloadText, 'utf8');
  return Buffer.from(JSON.stringify(fixture.payload), 'utf8');
}

export interface FixtureResult {
  name: string;
  ok: boolean;
  problems: string[];
}

const sortKey = (x: { kind?: string; type?: string; value?: number }): string => `${x.kind ?? x.type}:${x.value ?? ''}`;

/** Decodes a fixture's payload through the profile and lists every difference from its expectation. */
export function runFixture(profile: CompiledProfile, fixture: Fixture): FixtureResult {
  const problems: string[] = [];
  const topic = fillTopic(fixture.topic, FIXTURE_DEVICE_ID);
  const message = profile.messageFor(FIXTURE_DEVICE_ID, topic);
  if (!message) return { name: fixture.name, ok: false, problems: [`no message of the profile has topic ${fixture.topic}`] };
  const outcome = message.decode(fixturePayload(fixture), fixture.receivedAt ?? FIXTURE_RECEIVED_AT);
  const expect = fixture.expect;

  if (expect.rejected !== undefined) {
    if (outcome.ok) problems.push(`expected the message to be rejected (${expect.rejected}), but it decoded`);
    else if (!outcome.reason.includes(expect.rejected) && outcome.code !== expect.rejected) {
      problems.push(`rejected with "${outcome.code}: ${outcome.reason}", expected a reason containing "${expect.rejected}"`);
    }
    return { name: fixture.name, ok: problems.length === 0, problems };
  }
  if (!outcome.ok) return { name: fixture.name, ok: false, problems: [`rejected: ${outcome.code}: ${outcome.reason}`] };
  const d = outcome.decoded;

  const got = [...d.readings].sort((a, b) => sortKey(a).localeCompare(sortKey(b)));
  const want = [...expect.readings].sort((a, b) => sortKey(a).localeCompare(sortKey(b)));
  const gotText = got.map((r) => `${r.kind}=${r.value}${r.unit}`).join(', ');
  const wantText = want.map((r) => `${r.kind}=${r.value}${r.unit ?? ''}`).join(', ');
  if (got.length !== want.length) problems.push(`readings: got [${gotText}], expected [${wantText}]`);
  else
    want.forEach((w, i) => {
      const g = got[i]!;
      if (g.kind !== w.kind || g.value !== w.value || (w.unit !== undefined && g.unit !== w.unit)) {
        problems.push(`reading: got ${g.kind}=${g.value}${g.unit}, expected ${w.kind}=${w.value}${w.unit ?? ''}`);
      }
      if (w.ts !== undefined && d.ts !== w.ts) problems.push(`timestamp: got ${d.ts}, expected ${w.ts}`);
    });

  const events = d.events.map((e) => `${e.type}${e.seq === undefined ? '' : '#' + e.seq}`).sort();
  const wantEvents = expect.events.map((e) => `${e.type}${e.seq === undefined ? '' : '#' + e.seq}`).sort();
  if (events.join(',') !== wantEvents.join(',')) problems.push(`events: got [${events.join(', ')}], expected [${wantEvents.join(', ')}]`);
  for (const e of expect.events) if (e.ts !== undefined && d.ts !== e.ts) problems.push(`event timestamp: got ${d.ts}, expected ${e.ts}`);

  if (expect.online !== undefined && d.online !== expect.online) problems.push(`online: got ${d.online}, expected ${expect.online}`);

  const rejectedKinds = d.rejected.map((r) => r.field).sort();
  const wantRejected = [...(expect.rejectedFields ?? [])].sort();
  if (rejectedKinds.join(',') !== wantRejected.join(',')) {
    problems.push(`rejected fields: got [${d.rejected.map((r) => r.reason).join('; ')}], expected [${wantRejected.join(', ')}]`);
  }
  return { name: fixture.name, ok: problems.length === 0, problems };
}

export function runFixtures(profile: CompiledProfile): FixtureResult[] {
  return profile.profile.fixtures.map((f) => runFixture(profile, f));
}
