/**
 * The gateway under the attacks of the hardening review, measured from
 * outside: a real gateway process, its RSS read from /proc before and after
 * each attack, and an SOS from an honest device timed while it happens.
 *
 *   npm run bench:attacks
 *
 * 1. eight sockets each declaring a 255 MB CONNECT (and sending 16 MB of it)
 * 2. a logged-in device sending a 100 MB PUBLISH, and three retained 200 MB ones
 * 3. 2,000 wrong MQTT passwords, then an honest device connecting
 * 4. one device flooding QoS 1 events while another presses SOS
 * 5. fifty live-stream clients that never read, while alarms are raised
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { connect as tcpConnect, type Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import mqtt, { type MqttClient } from 'mqtt';
import { readSse } from '../test/helpers/sse.ts';

const root = new URL('../', import.meta.url).pathname;
const dataDir = mkdtempSync(join(tmpdir(), 'carebell-bench-attacks-'));
const TOKEN = 'bench-attacks-token-0123456789abcdef';

const child: ChildProcess = spawn(process.execPath, ['--import', 'tsx', 'src/main.ts', 'start'], {
  cwd: root,
  env: { ...process.env, CAREBELL_DATA_DIR: dataDir, CAREBELL_MQTT_HOST: '127.0.0.1', CAREBELL_MQTT_PORT: '0', CAREBELL_HTTP_HOST: '127.0.0.1', CAREBELL_HTTP_PORT: '0', CAREBELL_ADMIN_TOKEN: TOKEN, CAREBELL_LOG_LEVEL: 'fatal' },
  stdio: ['ignore', 'pipe', 'inherit'],
});
const { http, mqttUrl } = await new Promise<{ http: string; mqttUrl: string }>((resolve, reject) => {
  let out = '';
  child.stdout!.on('data', (c) => {
    out += c;
    const h = /HTTP API\s+(http:\/\/\S+?)\/api\/v1\s/.exec(out)?.[1];
    const m = /MQTT\s+(mqtt:\/\/\S+)/.exec(out)?.[1];
    if (h && m) resolve({ http: h, mqttUrl: m });
  });
  child.once('exit', (code) => reject(new Error(`gateway exited with ${code}`)));
});
const port = Number(new URL(mqttUrl).port);
const rss = () => Number(/VmRSS:\s+(\d+)/.exec(readFileSync(`/proc/${child.pid}/status`, 'utf8'))?.[1] ?? 0) / 1024;
const api = async (method: string, path: string, body?: unknown) => {
  const res = await fetch(`${http}/api/v1${path}`, { method, headers: { authorization: `Bearer ${TOKEN}`, 'content-type': 'application/json' }, ...(body ? { body: JSON.stringify(body) } : {}) });
  return res.json() as Promise<any>;
};
const district = await api('POST', '/stations', { name: 'D', level: 'district' });
const street = await api('POST', '/stations', { name: 'S', level: 'street', parentId: district.id });
const community = await api('POST', '/stations', { name: 'C', level: 'community', parentId: street.id });
const device = async (id: string) => {
  const r = await api('POST', '/residents', { name: id, address: 'A', stationId: community.id, livesAlone: false, capabilityLevel: 1, contacts: [] });
  return (await api('POST', '/devices', { profile: 'carebell-sos-pendant', residentId: r.id, id })).mqtt as { clientId: string; password: string };
};
const connectAs = (d: { clientId: string; password: string }, extra: object = {}) =>
  mqtt.connectAsync(mqttUrl, { clientId: d.clientId, username: d.clientId, password: d.password, protocolVersion: 4, reconnectPeriod: 0, ...extra }) as Promise<MqttClient>;
const honest = await device('honest');
const honestClient = await connectAs(honest);
let seq = 0;
const stream = new AbortController();
const raised = new Map<number, () => void>();
void fetch(`${http}/api/v1/stream`, { headers: { authorization: `Bearer ${TOKEN}` }, signal: stream.signal }).then((res) =>
  readSse(res.body!, (e) => {
    if (e !== 'heartbeat' && e.event === 'alarm.updated' && e.data.deviceId === 'honest') for (const done of raised.values()) done();
    if (e !== 'heartbeat' && e.event === 'alarm.raised' && e.data.deviceId === 'honest') for (const done of raised.values()) done();
  }).catch(() => {}),
);
/** An SOS from the honest device: ms from PUBLISH until the alarm (or its repeat) is on the live stream. */
async function sosLatency(): Promise<number> {
  const n = ++seq;
  const t0 = performance.now();
  const seen = new Promise<void>((resolve) => raised.set(n, resolve));
  await honestClient.publishAsync('devices/honest/event', JSON.stringify({ ts: Date.now(), type: 'sos', seq: n }), { qos: 1 });
  await seen;
  raised.delete(n);
  return performance.now() - t0;
}
const rawSocket = () =>
  new Promise<Socket>((resolve) => {
    const s = tcpConnect(port, '127.0.0.1', () => resolve(s));
    s.on('error', () => {});
  });
const closed = (s: Socket) => new Promise<void>((resolve) => (s.destroyed ? resolve() : s.once('close', () => resolve())));
const mb = (n: number) => `${n.toFixed(0)} MB`;
await sosLatency(); // warm
console.log(`gateway RSS at rest: ${mb(rss())}`);

// 1. Oversized CONNECTs before login.
{
  const before = rss();
  const socks = await Promise.all(Array.from({ length: 8 }, rawSocket));
  const chunk = Buffer.alloc(1 << 20, 0x41);
  await Promise.all(
    socks.map(async (s) => {
      s.write(Buffer.from([0x10, 0xff, 0xff, 0xff, 0x7f]));
      for (let i = 0; i < 16 && !s.destroyed; i++) await new Promise<void>((r) => s.write(chunk, () => r()));
      await closed(s);
    }),
  );
  console.log(`1. 8 × CONNECT declaring 255 MB: all closed by the gateway; RSS ${mb(before)} → ${mb(rss())}; SOS meanwhile ${(await sosLatency()).toFixed(1)} ms`);
}

// 2. A logged-in device: a 100 MB PUBLISH, three retained 200 MB ones.
{
  const before = rss();
  const attacker = await device('big-sender');
  for (const [size, retain] of [[100, false], [200, true], [200, true], [200, true]] as const) {
    const c = await connectAs(attacker);
    const s = (c as unknown as { stream: Socket }).stream;
    const len = size * 1_048_576;
    const header = [0x30 | (retain ? 1 : 0)];
    for (let n = len; n > 0; n = Math.floor(n / 128)) header.push((n % 128) | (n >= 128 ? 0x80 : 0));
    s.write(Buffer.from(header));
    const chunk = Buffer.alloc(1 << 20, 0x42);
    for (let i = 0; i < 32 && !s.destroyed; i++) await new Promise<void>((r) => s.write(chunk, () => r()));
    await closed(s);
    c.end(true);
  }
  console.log(`2. PUBLISH of 100 MB and three retained 200 MB: each connection closed at its header; RSS ${mb(before)} → ${mb(rss())}`);
}

// 3. 2,000 wrong passwords, then the honest device reconnects.
{
  const before = rss();
  const t0 = performance.now();
  const victim = await device('guessed');
  let refused = 0;
  let next = 0;
  await Promise.all(
    Array.from({ length: 100 }, async () => {
      while (next++ < 2_000) {
        await new Promise<void>((resolve) => {
          const c = mqtt.connect(mqttUrl, { clientId: victim.clientId, username: victim.clientId, password: `guess-${next}`, protocolVersion: 4, reconnectPeriod: 0, connectTimeout: 60_000 });
          c.once('error', () => (refused++, c.end(true), resolve()));
          c.once('connect', () => (c.end(true), resolve()));
        });
      }
    }),
  );
  const guessing = (performance.now() - t0) / 1000;
  const t1 = performance.now();
  const back = await connectAs(await device('first-time'));
  const connectMs = performance.now() - t1;
  await back.endAsync();
  console.log(`3. 2,000 wrong passwords from 100 connections at a time: ${refused} refused in ${guessing.toFixed(1)} s (${Math.round(refused / guessing)}/s, held back beyond the limit); a new device then connected in ${connectMs.toFixed(1)} ms; RSS ${mb(before)} → ${mb(rss())}`);
}

// 4. One device floods QoS 1 events (mosquitto_pub in its own process, as fast as it can); another presses SOS.
{
  const flooder = await device('flooder');
  const quiet: number[] = [];
  for (let i = 0; i < 50; i++) quiet.push(await sosLatency());
  const counted = async () => Number(/carebell_messages_in_total\{profile="carebell-sos-pendant"\} (\d+)/.exec(await (await fetch(`${http}/metrics`)).text())?.[1] ?? 0);
  const before = await counted();
  const pub = spawn('mosquitto_pub', ['-h', '127.0.0.1', '-p', String(port), '-V', 'mqttv311', '-i', 'flooder', '-u', 'flooder', '-P', flooder.password, '-t', 'devices/flooder/event', '-q', '1', '-l'], { stdio: ['pipe', 'ignore', 'ignore'] });
  pub.stdin!.on('error', () => {});
  const lines = Array.from({ length: 200_000 }, (_, i) => `{"ts":${Date.now()},"type":"test","seq":${i + 1}}`).join('\n') + '\n';
  pub.stdin!.write(lines);
  const t0 = performance.now();
  const loud: number[] = [];
  for (let i = 0; i < 100; i++) loud.push(await sosLatency());
  const seconds = (performance.now() - t0) / 1000;
  const received = (await counted()) - before - loud.length;
  pub.kill('SIGKILL');
  const pct = (xs: number[], p: number) => [...xs].sort((a, b) => a - b)[Math.max(0, Math.ceil((p / 100) * xs.length) - 1)]!.toFixed(1);
  console.log(`4. a device flooding QoS 1 events (read at ${Math.round(received / seconds).toLocaleString('en-US')}/s once over its rate, the rest held back by TCP; dropped and acknowledged): another device's SOS p50 ${pct(loud, 50)} ms, p99 ${pct(loud, 99)} ms, max ${pct(loud, 100)} ms (quiet: p50 ${pct(quiet, 50)} ms, p99 ${pct(quiet, 99)} ms)`);
}

// 5. Fifty stream clients that never read, while alarms keep coming.
{
  const before = rss();
  const readers = await Promise.all(Array.from({ length: 50 }, () => fetch(`${http}/api/v1/stream`, { headers: { authorization: `Bearer ${TOKEN}` } })));
  const pendants = await Promise.all(Array.from({ length: 20 }, (_, i) => device(`burst-${i}`).then((d) => connectAs(d))));
  for (let round = 0; round < 150; round++) {
    await Promise.all(pendants.map((c, i) => c.publishAsync(`devices/burst-${i}/telemetry`, JSON.stringify({ ts: Date.now(), battery: 5 + (round % 3) }), { qos: 1 })));
    await Promise.all(pendants.map((c, i) => c.publishAsync(`devices/burst-${i}/event`, JSON.stringify({ ts: Date.now(), type: round % 2 ? 'sos' : 'sos_cancelled', seq: round }), { qos: 1 })));
  }
  const metrics = await (await fetch(`${http}/metrics`)).text();
  const dropped = /carebell_sse_slow_readers_dropped_total\{stream="live"\} (\d+)/.exec(metrics)?.[1] ?? '0';
  console.log(`5. 50 live-stream clients that never read, 3,000 SOS changes: RSS ${mb(before)} → ${mb(rss())}; ${dropped} slow readers dropped`);
  for (const r of readers) await r.body?.cancel().catch(() => {});
  await Promise.all(pendants.map((c) => c.endAsync()));
}

stream.abort();
await honestClient.endAsync();
child.kill('SIGTERM');
await new Promise((r) => child.once('exit', r));
rmSync(dataDir, { recursive: true, force: true });
process.exit(0);
