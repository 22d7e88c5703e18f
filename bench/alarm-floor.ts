/**
 * The machine's floor under `bench:alarm`: the same background load and the
 * same measuring thread (pendants over mqtt.js, the stream read off its
 * socket), against a bare aedes broker that turns each SOS PUBLISH into an
 * `alarm.raised` event on a bare SSE stream at once — no decoding, no rules,
 * no database, no authentication. What this prints is what any gateway in
 * one Node process on this machine starts from: carebell's figures can be no
 * better.
 *
 *   npm run bench:alarm-floor -- [--background-devices 1000] [--background-rate 10000] [--paced 200] [--warmup-seconds 5]
 */
import { Aedes } from 'aedes';
import { once } from 'node:events';
import { createServer as createHttpServer, type ServerResponse } from 'node:http';
import { createServer, type AddressInfo, type Server } from 'node:net';
import { monitorEventLoopDelay, performance } from 'node:perf_hooks';
import { startWorker } from '../src/core/worker.ts';
import { percentile } from '../src/jobs/statistics.ts';
import { numberArg } from './args.ts';

const BACKGROUND_DEVICES = numberArg('background-devices', 1000);
const BACKGROUND_RATE = numberArg('background-rate', 10_000);
const PACED = numberArg('paced', 200);
const PACED_PER_SECOND = numberArg('paced-per-second', 20);
const TICK_MS = numberArg('background-tick-ms', 10);
const WARMUP_SECONDS = numberArg('warmup-seconds', 5);

const streams = new Set<ServerResponse>();
const aedes = await Aedes.createBroker({
  authorizePublish: (client, packet, done) => {
    if (client && packet.topic.endsWith('/event')) {
      const chunk = `event: alarm.raised\ndata: ${JSON.stringify({ deviceId: client.id })}\n\n`;
      for (const s of streams) s.write(chunk);
    }
    done(null);
  },
});
const mqttServer = createServer((socket) => {
  socket.setNoDelay(true);
  aedes.handle(socket);
});
const httpServer = createHttpServer((req, res) => {
  res.writeHead(200, { 'content-type': 'text/event-stream', 'cache-control': 'no-store' });
  res.flushHeaders();
  res.socket?.setNoDelay(true);
  streams.add(res);
  req.on('close', () => streams.delete(res));
});
const listening = async (server: Server) => {
  await once(server.listen(0, '127.0.0.1'), 'listening');
  return (server.address() as AddressInfo).port;
};
const [mqttPort, httpPort] = await Promise.all([listening(mqttServer), listening(httpServer)]);

console.log(`alarm floor (bare aedes, bare SSE): ${BACKGROUND_DEVICES} devices sending ${BACKGROUND_RATE} msg/s in the background; after ${WARMUP_SECONDS} s of it, ${PACED} SOS presses at ${PACED_PER_SECOND}/s`);
const bands = Array.from({ length: BACKGROUND_DEVICES }, (_, i) => ({ id: `band-${i}`, password: 'x', topic: `devices/band-${i}/telemetry` }));
const background = startWorker(new URL('./background-load.ts', import.meta.url), { port: mqttPort, devices: bands, ratePerSecond: BACKGROUND_RATE, tickMs: TICK_MS });
await new Promise<void>((resolve) => background.once('message', () => resolve()));
const backgroundStarted = performance.now();
const sos = startWorker(new URL('./sos-client.ts', import.meta.url), {
  mqttUrl: `mqtt://127.0.0.1:${mqttPort}`,
  streamUrl: `http://127.0.0.1:${httpPort}/stream`,
  token: 'none',
  pendants: Array.from({ length: PACED + 1 }, (_, i) => ({ id: `sos-${i}`, password: 'x' })),
  paced: PACED,
  pacedPerSecond: PACED_PER_SECOND,
});
await new Promise<void>((resolve) => sos.once('message', () => resolve()));
const warmedAt = backgroundStarted + WARMUP_SECONDS * 1000;
if (performance.now() < warmedAt) await new Promise((resolve) => setTimeout(resolve, warmedAt - performance.now()));
const elu0 = performance.eventLoopUtilization();
const loopDelay = monitorEventLoopDelay({ resolution: 1 });
loopDelay.enable();
sos.postMessage('go');
const result = await new Promise<{ latencies: number[]; error?: string }>((resolve) => sos.once('message', resolve));
if (result.error) throw new Error(result.error);
loopDelay.disable();
const elu = performance.eventLoopUtilization(elu0).utilization;
background.postMessage('stop');
const { sent } = await new Promise<{ sent: number }>((resolve) => background.once('message', resolve));
const backgroundElapsed = (performance.now() - backgroundStarted) / 1000;

const sorted = [...result.latencies].sort((a, b) => a - b);
const pct = (p: number) => percentile(sorted, p)!.toFixed(1);
const ms = (ns: number) => (ns / 1e6).toFixed(1);
console.log(`background: ${Math.round(sent / backgroundElapsed).toLocaleString('en-US')} msg/s sent`);
console.log(`SOS PUBLISH → event read off the stream: p50 ${pct(50)} ms, p90 ${pct(90)} ms, p99 ${pct(99)} ms, max ${sorted.at(-1)!.toFixed(1)} ms (${sorted.length} presses)`);
console.log(`broker's event loop busy ${(elu * 100).toFixed(0)} % of the time; its delay p50 ${ms(loopDelay.percentile(50))} ms, p99 ${ms(loopDelay.percentile(99))} ms, max ${ms(loopDelay.max)} ms`);
await Promise.all([background.terminate(), sos.terminate()]);
for (const s of streams) s.end();
await new Promise<void>((r) => aedes.close(() => r()));
mqttServer.close();
httpServer.close();
process.exit(0);
