/**
 * Ingest throughput: devices publishing telemetry at QoS 1 over real TCP
 * sockets, against (a) a bare aedes broker with no pipeline and (b) the whole
 * carebell gateway (auth, ACL, profile decode, zod, SQLite sink). Prints
 * messages/s for both, published → stored for the gateway, and the ratio; and
 * the CPU time a message costs the whole process (broker, load generator and,
 * for the gateway, its telemetry writer), a figure less at the mercy of other
 * tenants of the machine than wall-clock rates.
 *
 *   npm run bench:ingest -- [--devices 1000] [--messages 50] [--window 4] [--rounds 5] [--flush-ms N] [--profile]
 *
 * A round of 50 messages a device lasts about a second; `--messages 200` gives
 * a sustained figure (bare aedes speeds up as its JIT warms, so the ratio is
 * lower over longer runs).
 */
import { Aedes } from 'aedes';
import { mkdtempSync, rmSync } from 'node:fs';
import { createServer, type AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { buildApp } from '../src/app.ts';
import { parseConfig } from '../src/config/config.ts';
import { silentLogger } from '../src/core/logger.ts';
import { listen } from '../src/listen.ts';
import { startWorker } from '../src/core/worker.ts';
import type { LoadResult } from './load-client.ts';
import { numberArg } from './args.ts';

const DEVICES = numberArg('devices', 1000);
const MESSAGES = numberArg('messages', 50);
const WINDOW = numberArg('window', 4);
const ROUNDS = numberArg('rounds', 5);
const FLUSH_MS = numberArg('flush-ms', 0);
const READINGS_PER_MESSAGE = 3;

/**
 * Runs the load generator; `whileConnected` runs after the last PUBACK and
 * before the devices disconnect (the gateway's storing is timed there, so the
 * cost of 1,000 disconnects is not counted as ingest).
 */
function runLoad(
  port: number,
  devices: Array<{ id: string; password: string; topic: string }>,
  onPublishing: () => void = () => {},
  round = 0,
  whileConnected: () => Promise<void> = async () => {},
): Promise<LoadResult> {
  return new Promise((resolve, reject) => {
    const worker = startWorker(new URL('./load-client.ts', import.meta.url), { port, devices, messagesPerDevice: MESSAGES, window: WINDOW, baseTs: Date.now() - 86_400_000 + round * 3_600_000 });
    let result: LoadResult;
    worker.on('message', (m: { publishing?: boolean; closed?: boolean; ok?: boolean; result?: LoadResult; error?: string }) => {
      if (m.publishing) return onPublishing();
      if (m.closed) {
        void worker.terminate();
        return resolve(result);
      }
      if (!m.ok) {
        void worker.terminate();
        return reject(new Error(m.error));
      }
      result = m.result!;
      whileConnected().then(() => worker.postMessage('close'), reject);
    });
    worker.once('error', reject);
  });
}

/** --profile: a CPU profile of the gateway while it is under load, written to the working directory. */
async function startProfiler(): Promise<{ stop(file: string): Promise<void> }> {
  const { Session } = await import('node:inspector/promises');
  const { writeFileSync } = await import('node:fs');
  const session = new Session();
  session.connect();
  await session.post('Profiler.enable');
  await session.post('Profiler.setSamplingInterval', { interval: 100 });
  await session.post('Profiler.start');
  return {
    async stop(file) {
      const { profile } = await session.post('Profiler.stop');
      writeFileSync(file, JSON.stringify(profile));
      session.disconnect();
      console.log(`cpu profile written to ${file}`);
    },
  };
}

const pct = (sorted: number[], p: number): number => sorted[Math.min(sorted.length - 1, Math.floor((sorted.length * p) / 100))] ?? NaN;
const fmt = (n: number): string => Math.round(n).toLocaleString('en-US');
function latency(r: LoadResult): string {
  const s = Float64Array.from(r.latenciesUs).sort();
  return `PUBACK latency p50 ${(pct([...s], 50) / 1000).toFixed(2)} ms, p99 ${(pct([...s], 99) / 1000).toFixed(2)} ms`;
}

const cpuSince = (start: NodeJS.CpuUsage | undefined): number => {
  const c = process.cpuUsage(start);
  return c.user + c.system;
};

/** `cpuUs`: CPU time of the whole process (broker, load generator, writer) from the first PUBLISH to the last PUBACK. */
async function bare(): Promise<LoadResult & { cpuUs: number }> {
  const aedes = await Aedes.createBroker();
  const server = createServer((socket) => {
    socket.setNoDelay(true);
    aedes.handle(socket);
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
  const port = (server.address() as AddressInfo).port;
  const devices = Array.from({ length: DEVICES }, (_, i) => ({ id: `bare-${i}`, password: 'x', topic: `devices/bare-${i}/telemetry` }));
  let cpu0: NodeJS.CpuUsage | undefined;
  let cpuUs = 0;
  const result = await runLoad(port, devices, () => (cpu0 = process.cpuUsage()), 0, async () => {
    cpuUs = cpuSince(cpu0);
  });
  await new Promise<void>((r) => aedes.close(() => r()));
  server.close();
  return { ...result, cpuUs };
}

interface Gateway {
  /** `cpuUs`: CPU time of the whole process from the first PUBLISH until every reading is stored. */
  run(round: number): Promise<{ result: LoadResult; storedMs: number; cpuUs: number }>;
  onboardMs: number;
  close(): Promise<void>;
}

async function gateway(): Promise<Gateway> {
  const dataDir = mkdtempSync(join(tmpdir(), 'carebell-bench-'));
  // Each load device sends as fast as its window allows, far over a real device's rate: the per-device limit is lifted.
  const config = parseConfig({ dataDir, mqttHost: '127.0.0.1', mqttPort: 0, httpHost: '127.0.0.1', httpPort: 0, adminToken: 'bench-admin-token-0123456789', logLevel: 'silent', deviceRate: 100_000, deviceBurst: 1_000_000, ...(FLUSH_MS ? { telemetryFlushMs: FLUSH_MS } : {}) });
  const app = await buildApp({ config, log: silentLogger });
  const urls = await listen(app);

  const t0 = performance.now();
  const district = await app.onboarding.createStation({ name: 'D', level: 'district' });
  const street = await app.onboarding.createStation({ name: 'S', level: 'street', parentId: district.id });
  const community = await app.onboarding.createStation({ name: 'C', level: 'community', parentId: street.id });
  const devices: Array<{ id: string; password: string; topic: string }> = [];
  for (let i = 0; i < DEVICES; i += 50) {
    const batch = await Promise.all(
      Array.from({ length: Math.min(50, DEVICES - i) }, async (_, j) => {
        const resident = await app.onboarding.createResident({ name: `R${i + j}`, address: 'A', stationId: community.id, livesAlone: true, capabilityLevel: 1, contacts: [] });
        const creds = await app.onboarding.createDevice({ profile: 'carebell-vitals-band', residentId: resident.id, id: `band-${i + j}` });
        return { id: creds.id, password: creds.mqtt.password, topic: creds.mqtt.topics.publish[0]! };
      }),
    );
    devices.push(...batch);
  }
  const onboardMs = performance.now() - t0;

  return {
    onboardMs,
    async run(round) {
      const expected = DEVICES * MESSAGES * READINGS_PER_MESSAGE;
      const target = app.telemetry.stored + expected;
      let storedAt = 0;
      let cpu0: NodeJS.CpuUsage | undefined;
      let cpuUs = 0;
      const allStored = new Promise<void>((resolve) => {
        const check = setInterval(() => {
          if (app.telemetry.stored >= target) {
            storedAt = performance.now();
            cpuUs = cpuSince(cpu0);
            clearInterval(check);
            resolve();
          }
        }, 1);
      });
      let start = 0;
      const profiler = round === 2 && process.argv.includes('--profile') ? await startProfiler() : undefined;
      const result = await runLoad(urls.mqttPort, devices, () => {
        start = performance.now();
        cpu0 = process.cpuUsage();
      }, round, async () => {
        await app.telemetry.flush();
        await allStored;
      });
      if (profiler) await profiler.stop('ingest-gateway.cpuprofile');
      return { result, storedMs: storedAt - start, cpuUs };
    },
    async close() {
      await app.close();
      rmSync(dataDir, { recursive: true, force: true });
    },
  };
}

const median = (xs: number[]): number => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;
const rate = (messages: number, ms: number): number => messages / (ms / 1000);

console.log(`ingest benchmark: ${DEVICES} devices × ${MESSAGES} messages (QoS 1, ${WINDOW} in flight per device), ${READINGS_PER_MESSAGE} readings per message, ${ROUNDS} rounds`);
console.log('the load generator runs in a worker thread; bare aedes and the gateway alternate, round by round\n');
const gw = await gateway();
console.log(`onboarded ${DEVICES} devices in ${fmt(gw.onboardMs)} ms (secrets stored as salted HMACs)`);
const bareRates: number[] = [];
const bareCpu: number[] = [];
const gatewayCpu: number[] = [];
const ackRates: number[] = [];
const storedRates: number[] = [];
const total = DEVICES * MESSAGES;
for (let round = 1; round <= ROUNDS; round++) {
  const b = await bare();
  const g = await gw.run(round);
  bareRates.push(rate(b.acked, b.publishMs));
  ackRates.push(rate(g.result.acked, g.result.publishMs));
  storedRates.push(rate(total, g.storedMs));
  bareCpu.push(b.cpuUs / total);
  gatewayCpu.push(g.cpuUs / total);
  console.log(
    `round ${round}: bare aedes ${fmt(bareRates.at(-1)!)} msg/s (${latency(b)}) | carebell ${fmt(ackRates.at(-1)!)} msg/s acked, ${fmt(storedRates.at(-1)!)} msg/s stored (${latency(g.result)}; connect ${fmt(g.result.connectMs)} ms) | CPU a message ${bareCpu.at(-1)!.toFixed(1)} µs bare, ${gatewayCpu.at(-1)!.toFixed(1)} µs carebell`,
  );
}
await gw.close();
const bareMedian = median(bareRates);
console.log(`\nmedian bare aedes:                        ${fmt(bareMedian)} msg/s`);
console.log(`median carebell, published → acknowledged: ${fmt(median(ackRates))} msg/s (${((median(ackRates) / bareMedian) * 100).toFixed(1)} % of bare)`);
console.log(`median carebell, published → stored:       ${fmt(median(storedRates))} msg/s (${((median(storedRates) / bareMedian) * 100).toFixed(1)} % of bare)`);
console.log(`median CPU a message (whole process: broker, load generator, writer): bare ${median(bareCpu).toFixed(1)} µs, carebell ${median(gatewayCpu).toFixed(1)} µs (${((median(bareCpu) / median(gatewayCpu)) * 100).toFixed(1)} %)`);
process.exit(0);
