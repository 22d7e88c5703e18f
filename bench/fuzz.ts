/**
 * Fuzzing at length: mutated fixtures of every profile through the real
 * ingest pipeline (decoder, dedupe, SQLite, rules, alarms), as the property
 * test in test/integration/fuzz.test.ts does with fewer cases. Prints, per
 * profile, the cases run, what became of them and every failure found: a
 * throw, a decoder or pipeline error, or an alarm the decoded message could
 * not cause.
 *
 *   npm run bench:fuzz -- [--cases 10000] [--seed N]
 */
import fc from 'fast-check';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { buildApp } from '../src/app.ts';
import { parseConfig } from '../src/config/config.ts';
import { ManualClock } from '../src/core/clock.ts';
import { silentLogger } from '../src/core/logger.ts';
import { fillTopic } from '../src/profiles/topics.ts';
import { FIXTURE_RECEIVED_AT } from '../src/profiles/fixtures.ts';
import { alarmsAllowed, mutants } from '../test/helpers/mutations.ts';

const { values } = parseArgs({ options: { cases: { type: 'string', default: '10000' }, seed: { type: 'string' } } });
const CASES = Number(values.cases);
const SEED = values.seed !== undefined ? Number(values.seed) : Math.floor(Math.random() * 2 ** 31);

const dataDir = mkdtempSync(join(tmpdir(), 'carebell-bench-fuzz-'));
const clock = new ManualClock(FIXTURE_RECEIVED_AT);
const app = await buildApp({
  config: parseConfig({ dataDir, logLevel: 'silent', mqttPort: 0, httpPort: 0, deviceRate: 100_000, deviceBurst: 1_000_000 }),
  clock,
  log: silentLogger,
  jobs: false,
  alarms: { tickMs: 0 },
});
const district = await app.onboarding.createStation({ name: 'D', level: 'district' });
const street = await app.onboarding.createStation({ name: 'S', level: 'street', parentId: district.id });
const community = await app.onboarding.createStation({ name: 'C', level: 'community', parentId: street.id });
const resident = await app.onboarding.createResident({ name: 'R', address: 'A', stationId: community.id, livesAlone: true, capabilityLevel: 1, contacts: [] });

const alarms: string[] = [];
app.bus.on('alarm.raised', ({ alarm }) => alarms.push(alarm.type));
app.bus.on('alarm.updated', ({ alarm, change }) => (change === 'repeated' || change === 'severity_raised') && alarms.push(alarm.type));

console.log(`fuzz: ${CASES.toLocaleString('en-US')} mutated fixtures per profile through ingest, seed ${SEED}`);
const t0 = performance.now();
let total = 0;
let failures = 0;
for (const profile of app.profiles.all()) {
  const creds = await app.onboarding.createDevice({ profile: profile.id, residentId: resident.id, id: `fuzz-${profile.id}` });
  const device = app.directory.get(creds.id)!;
  const outcomes = new Map<string, number>();
  let raised = 0;
  const problems: string[] = [];
  const started = performance.now();
  for (const mutant of fc.sample(mutants(profile), { seed: SEED, numRuns: CASES })) {
    alarms.length = 0;
    clock.advance(100);
    const topic = fillTopic(mutant.topic, device.id);
    try {
      const result = await app.ingest.handle({ device, topic, payload: mutant.payload, receivedAt: clock.now() });
      const key = result.outcome === 'rejected' ? `rejected:${result.code}` : result.outcome;
      outcomes.set(key, (outcomes.get(key) ?? 0) + 1);
      if (result.code === 'decoder_error' || result.code === 'processing_failed') problems.push(`${mutant.how}: ${result.code}`);
      const allowed = alarmsAllowed(profile, mutant, device.id, clock.now());
      for (const type of alarms) if (!allowed.has(type)) problems.push(`${mutant.how}: raised ${type}, allowed [${[...allowed].join(', ')}]`);
      raised += alarms.length;
    } catch (err) {
      problems.push(`${mutant.how}: threw ${(err as Error).message}`);
    }
  }
  total += CASES;
  failures += problems.length;
  const ms = performance.now() - started;
  const summary = [...outcomes].sort((a, b) => b[1] - a[1]).map(([k, n]) => `${k} ${n}`).join(', ');
  console.log(`${profile.id.padEnd(24)} ${CASES} cases in ${(ms / 1000).toFixed(1)} s (${Math.round(CASES / (ms / 1000))}/s): ${summary}; alarm changes ${raised}; failures ${problems.length}`);
  for (const p of problems.slice(0, 5)) console.log(`  ✗ ${p}`);
}
console.log(`${total.toLocaleString('en-US')} cases in ${((performance.now() - t0) / 1000).toFixed(1)} s, ${failures} failures (seed ${SEED})`);
await app.close();
rmSync(dataDir, { recursive: true, force: true });
process.exit(failures > 0 ? 1 : 0);
