// Embedded telemetry store: the real SqliteTelemetrySink (its writer thread, its schema) taking
// batches as the gateway hands them over, for 1,000 devices with 3 readings a message. Prints
// wall time and CPU (all threads, building the batches included) per stored message, by how many
// messages of each device a batch holds (they share one row), with the default WAL checkpoint
// interval and with SQLite's own (1,000 pages).
//   npm run bench:store -- [--devices 1000] [--messages 300000]
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ColumnBuilder } from '../src/telemetry/columns.ts';
import { DEFAULT_CHECKPOINT_PAGES, SqliteTelemetrySink } from '../src/telemetry/sqlite-sink.ts';
import { numberArg } from './args.ts';

const DEVICES = numberArg('devices', 1000);
const MESSAGES = numberArg('messages', 300_000);
const devices = Array.from({ length: DEVICES }, (_, i) => `band-${i}`);

async function run(checkpointPages: number, perDevice: number): Promise<{ wallUs: number; cpuUs: number }> {
  const dir = mkdtempSync(join(tmpdir(), 'carebell-store-'));
  const sink = new SqliteTelemetrySink(dir, { checkpointPages });
  let ts = Date.now() - 86_400_000;
  let messages = 0;
  const t0 = performance.now();
  const c0 = process.cpuUsage();
  while (messages < MESSAGES) {
    // As ingest fills a batch: messages in arrival order, each device reporting once a second.
    const batch = new ColumnBuilder(perDevice * DEVICES * 3);
    for (let m = 0; m < perDevice; m++, ts += 1000) {
      for (let d = 0; d < DEVICES; d++) {
        batch.push(devices[d]!, 'heart_rate', ts + d, 60 + ((m + d) % 40));
        batch.push(devices[d]!, 'spo2', ts + d, 95 + (m % 5));
        batch.push(devices[d]!, 'battery', ts + d, 90 - (m % 50));
      }
    }
    await sink.writeColumns(batch.take());
    messages += perDevice * DEVICES;
  }
  const cpu = process.cpuUsage(c0);
  const wallUs = ((performance.now() - t0) * 1000) / messages;
  await sink.close();
  rmSync(dir, { recursive: true, force: true });
  return { wallUs, cpuUs: (cpu.user + cpu.system) / messages };
}

console.log(`embedded telemetry store: ${DEVICES} devices, 3 readings a message, ${MESSAGES.toLocaleString('en-US')} messages per run\n`);
console.log('messages per device per batch | checkpoint every | wall µs/message | CPU µs/message');
for (const perDevice of [1, 5, 10, 20]) {
  for (const pages of [DEFAULT_CHECKPOINT_PAGES, 1000]) {
    const r = await run(pages, perDevice);
    console.log(`${String(perDevice).padStart(30)} | ${`${pages.toLocaleString('en-US')} pages`.padStart(16)} | ${r.wallUs.toFixed(2).padStart(15)} | ${r.cpuUs.toFixed(2).padStart(14)}`);
  }
}
