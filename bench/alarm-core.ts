/**
 * The alarm core's own cost of an SOS, with no broker, socket or load around
 * it: `ingest.handle` called directly with a pendant's SOS message, through
 * its event, rules, alarm (SQLite transaction with ladder and outbox) to
 * `alarm.raised` on the bus, one press at a time. Measured with more and more
 * alarms already open (a city has hundreds: offline devices, low batteries):
 * an SOS's own statements must find their rows through indexes, whatever the
 * count (test/unit/alarms/queries.test.ts checks their plans).
 *
 *   npm run bench:alarm-core -- [--open 0,1000,3000] [--presses 300]
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { buildApp } from '../src/app.ts';
import { parseConfig } from '../src/config/config.ts';
import { silentLogger } from '../src/core/logger.ts';
import { percentile } from '../src/jobs/statistics.ts';
import { numberArg, stringArg } from './args.ts';

const STAGES = (stringArg('open') ?? '0,1000,3000').split(',').map(Number);
const PRESSES = numberArg('presses', 300);

const dataDir = mkdtempSync(join(tmpdir(), 'carebell-bench-alarm-core-'));
const app = await buildApp({
  config: parseConfig({ dataDir, mqttHost: '127.0.0.1', mqttPort: 0, httpHost: '127.0.0.1', httpPort: 0, adminToken: 'bench-admin-token-0123456789', logLevel: 'silent' }),
  log: silentLogger,
});
const district = await app.onboarding.createStation({ name: 'D', level: 'district' });
const street = await app.onboarding.createStation({ name: 'S', level: 'street', parentId: district.id });
const community = await app.onboarding.createStation({ name: 'C', level: 'community', parentId: street.id });

let pendants = 0;
/** A new resident's pendant pressed: one more alarm open. Resolves with the time ingest took. */
async function press(): Promise<number> {
  const n = pendants++;
  const resident = await app.onboarding.createResident({ name: `r${n}`, address: 'A', stationId: community.id, livesAlone: false, capabilityLevel: 1, contacts: [] });
  const { id } = await app.onboarding.createDevice({ profile: 'carebell-sos-pendant', residentId: resident.id, id: `sos-${n}` });
  const device = app.directory.get(id)!;
  const payload = Buffer.from(JSON.stringify({ ts: Date.now(), type: 'sos', seq: 1 }));
  const t0 = performance.now();
  const result = await app.ingest.handle({ device, topic: `devices/${id}/event`, payload, receivedAt: Date.now(), superseded: false, qos: 1 });
  const ms = performance.now() - t0;
  if (result.outcome !== 'accepted') throw new Error(`SOS from ${id}: ${result.outcome}`);
  // The turn's after-commit work (outbox delivery, stream) runs before the next press, as between two real ones.
  await new Promise((resolve) => setImmediate(resolve));
  return ms;
}

console.log(`the alarm core alone: ${PRESSES} SOS presses through ingest, one at a time, with ${STAGES.join(', ')} alarms already open (embedded SQLite)`);
for (const stage of STAGES) {
  while (pendants < stage) await press();
  const open = (await app.repos.alarms.list({ state: 'open', limit: 100_000 })).length;
  const times: number[] = [];
  for (let i = 0; i < PRESSES; i++) times.push(await press());
  times.sort((a, b) => a - b);
  const at = (p: number) => percentile(times, p)!.toFixed(3);
  console.log(`${open.toLocaleString('en-US')} alarms open: an SOS through ingest (event and alarm recorded, alarm raised) p50 ${at(50)} ms, p90 ${at(90)} ms, p99 ${at(99)} ms`);
}
await app.close();
rmSync(dataDir, { recursive: true, force: true });
process.exit(0);
