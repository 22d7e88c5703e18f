import { parentPort, workerData } from 'node:worker_threads';
import mqtt, { type MqttClient } from 'mqtt';
import http, { type IncomingMessage } from 'node:http';
import { sseParser } from '../src/core/sse-reader.ts';

/**
 * The measuring side (worker thread): pendants as mqtt.js clients and the
 * console's SSE stream, on one clock. Phase 1 paces SOS presses and measures
 * PUBLISH → `alarm.raised` latency; phase 2 presses the rest at once and
 * measures how many alarms per second reach the stream. Phase 1 starts when
 * the bench says so (its pendants connected, the background warmed up).
 */
interface Input {
  mqttUrl: string;
  streamUrl: string;
  token: string;
  pendants: Array<{ id: string; password: string }>;
  paced: number;
  pacedPerSecond: number;
}

/**
 * Instants every thread of the process can compare, in ms: the monotonic clock behind
 * process.hrtime is one for all threads, where each thread's performance.now() has its own
 * origin, and timeOrigin + now() differs between threads by a fraction of a millisecond.
 */
export const sharedNow = (): number => Number(process.hrtime.bigint()) / 1e6;

/** How long a press may go unseen on the stream before the run fails. */
const UNSEEN_MS = 60_000;

async function main(input: Input): Promise<void> {
  const raisedAt = new Map<string, number>();
  /** The same instants on the clock the gateway's thread shares (sharedNow). */
  const sentAt = new Map<string, number>();
  const seenAt = new Map<string, number>();
  const waiting = new Map<string, () => void>();
  // The stream read straight off the socket (node:http), not through fetch's web streams: the
  // measuring side adds as little of its own as it can to what is measured.
  const stream = await new Promise<IncomingMessage>((resolve, reject) => {
    const req = http.get(input.streamUrl, { headers: { authorization: `Bearer ${input.token}`, accept: 'text/event-stream' } }, resolve);
    req.on('error', reject);
  });
  if (stream.statusCode !== 200) throw new Error(`stream answered ${stream.statusCode}`);
  stream.setEncoding('utf8');
  const parse = sseParser((e) => {
    if (e === 'heartbeat' || e.event !== 'alarm.raised') return;
    const { deviceId } = e.data as { deviceId: string };
    raisedAt.set(deviceId, performance.now());
    seenAt.set(deviceId, sharedNow());
    waiting.get(deviceId)?.();
  });
  stream.on('data', parse);
  // The stream lost before the last press is seen: the run fails, rather than wait for ever.
  let finished = false;
  let lost!: (err: Error) => void;
  const streamLost = new Promise<never>((_, reject) => (lost = reject));
  streamLost.catch(() => {});
  stream.on('error', (err) => lost(new Error(`the live stream failed: ${err.message}`)));
  stream.on('close', () => finished || lost(new Error('the live stream ended before every press was seen')));

  const clients: MqttClient[] = await Promise.all(
    input.pendants.map((p) => mqtt.connectAsync(input.mqttUrl, { clientId: p.id, username: p.id, password: p.password, protocolVersion: 4, reconnectPeriod: 0 })),
  );
  // Connected: the bench starts measuring (after its warm-up) when it says go.
  await new Promise<void>((resolve) => {
    parentPort!.once('message', () => resolve());
    parentPort!.postMessage({ ready: true });
  });
  const press = (i: number) => {
    const id = input.pendants[i]!.id;
    const seen = new Promise<void>((resolve) => waiting.set(id, resolve));
    const t0 = performance.now();
    sentAt.set(id, sharedNow());
    clients[i]!.publish(`devices/${id}/event`, JSON.stringify({ ts: Date.now(), type: 'sos', seq: 1 }), { qos: 1 });
    // An alarm never seen fails the run (with which press) rather than leave it waiting for ever.
    let timer: NodeJS.Timeout | undefined;
    const late = new Promise<never>((_, reject) => (timer = setTimeout(() => reject(new Error(`${id}'s alarm was not on the stream ${UNSEEN_MS / 1000} s after its press`)), UNSEEN_MS)));
    return Promise.race([seen, streamLost, late])
      .finally(() => clearTimeout(timer))
      .then(() => raisedAt.get(id)! - t0);
  };

  const latencies: number[] = [];
  const gap = 1000 / input.pacedPerSecond;
  const pending: Promise<void>[] = [];
  for (let i = 0; i < input.paced; i++) {
    pending.push(press(i).then((ms) => void latencies.push(ms)));
    await new Promise((r) => setTimeout(r, gap));
  }
  await Promise.all(pending);

  const burst = input.pendants.length - input.paced;
  const t0 = performance.now();
  await Promise.all(Array.from({ length: burst }, (_, j) => press(input.paced + j)));
  const burstMs = performance.now() - t0;

  finished = true;
  stream.destroy();
  await Promise.all(clients.map((c) => c.endAsync(true)));
  const paced = input.pendants.slice(0, input.paced).map((p) => ({ id: p.id, sentAt: sentAt.get(p.id)!, seenAt: seenAt.get(p.id)! }));
  parentPort!.postMessage({ latencies, burst, burstMs, paced });
}

if (parentPort) main(workerData as Input).catch((err) => parentPort!.postMessage({ error: String(err?.stack ?? err) }));
