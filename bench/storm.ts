/**
 * A reconnect storm: a gateway with N registered devices (18,000 by default)
 * is started, every device connects, the gateway is killed (SIGKILL) and
 * started again, and every device reconnects at once. Prints how long until
 * all were connected again, and the rate. Devices are raw MQTT connections
 * (a CONNECT, its CONNACK, then silence), so the load generator stays light.
 *
 *   npm run bench:storm -- [--devices 18000] [--in-flight 2000] [--legacy]
 *
 * --legacy stores the secrets as the scrypt hashes of older gateways, to
 * measure the first storm after an upgrade (each is replaced at its login).
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { connect as tcpConnect, type Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import mqttPacket from 'mqtt-packet';
import { buildApp } from '../src/app.ts';
import { parseConfig } from '../src/config/config.ts';
import { silentLogger } from '../src/core/logger.ts';
import { hashSecret, LEGACY_DEVICE_SECRET_COST } from '../src/core/secrets.ts';
import { freePort } from '../simulators/influxd.ts';

const { values } = parseArgs({ options: { devices: { type: 'string', default: '18000' }, 'in-flight': { type: 'string', default: '2000' }, legacy: { type: 'boolean', default: false } } });
const DEVICES = Number(values.devices);
const IN_FLIGHT = Number(values['in-flight']);
const root = new URL('../', import.meta.url).pathname;
const dataDir = mkdtempSync(join(tmpdir(), 'carebell-bench-storm-'));
const TOKEN = 'bench-storm-token-0123456789abcdef';

// Onboarding, in process: N devices with their secrets.
const t0 = performance.now();
const app = await buildApp({ config: parseConfig({ dataDir, logLevel: 'silent', mqttPort: 0, httpPort: 0, adminToken: TOKEN }), log: silentLogger, jobs: false });
const district = await app.onboarding.createStation({ name: 'D', level: 'district' });
const street = await app.onboarding.createStation({ name: 'S', level: 'street', parentId: district.id });
const community = await app.onboarding.createStation({ name: 'C', level: 'community', parentId: street.id });
const devices: Array<{ id: string; password: string }> = [];
for (let j = 0; j < DEVICES; j += 4) {
  await app.onboarding.createResident({ name: `R${j}`, address: 'A', stationId: community.id, livesAlone: false, capabilityLevel: 1, contacts: [] });
}
const residents = app.repos.residents.list().map((r) => r.id);
for (let i = 0; i < DEVICES; i++) {
  const c = await app.onboarding.createDevice({ profile: 'carebell-sos-pendant', residentId: residents[Math.floor(i / 4)]!, id: `storm-${i}` });
  devices.push({ id: c.id, password: c.mqtt.password });
}
if (values.legacy) {
  // What an older gateway stored: scrypt (N=2^12), hashed once here on the thread pool.
  let next = 0;
  await Promise.all(
    Array.from({ length: 8 }, async () => {
      while (next < devices.length) {
        const d = devices[next++]!;
        await app.repos.devices.setSecretHash(d.id, await hashSecret(d.password, LEGACY_DEVICE_SECRET_COST));
      }
    }),
  );
}
await app.close();
console.log(`reconnect storm: ${DEVICES.toLocaleString('en-US')} devices (${values.legacy ? 'legacy scrypt hashes' : 'salted HMAC secrets'}), ${IN_FLIGHT} connects in flight; onboarded in ${((performance.now() - t0) / 1000).toFixed(1)} s`);

const mqttPort = await freePort();

function startGateway(): Promise<{ child: ChildProcess; readyAt: number }> {
  const child = spawn(process.execPath, [...(process.env.STORM_GATEWAY_NODE_ARGS?.split(' ').filter(Boolean) ?? []), '--import', 'tsx', 'src/main.ts', 'start'], {
    cwd: root,
    env: { ...process.env, CAREBELL_DATA_DIR: dataDir, CAREBELL_MQTT_HOST: '127.0.0.1', CAREBELL_MQTT_PORT: String(mqttPort), CAREBELL_HTTP_HOST: '127.0.0.1', CAREBELL_HTTP_PORT: '0', CAREBELL_ADMIN_TOKEN: TOKEN, CAREBELL_LOG_LEVEL: 'error' },
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  let out = '';
  return new Promise((resolve, reject) => {
    child.stdout!.on('data', (c) => {
      out += c;
      if (out.includes('carebell is running')) resolve({ child, readyAt: performance.now() });
    });
    child.once('exit', (code) => reject(new Error(`gateway exited with ${code}`)));
  });
}

const sockets = new Map<string, Socket>();
// Every CONNECT made before the storm: during it the load generator only opens sockets and writes.
const connects = new Map(devices.map((d) => [d.id, mqttPacket.generate({ cmd: 'connect', protocolId: 'MQTT', protocolVersion: 4, clean: true, clientId: d.id, username: d.id, password: Buffer.from(d.password), keepalive: 0 })]));
/** One device's connection: CONNECT, then resolves on CONNACK 0 (`20 02 00 00`, the only packet a silent device gets). */
function connectDevice(d: { id: string; password: string }): Promise<void> {
  return new Promise((resolve, reject) => {
    const socket = tcpConnect({ port: mqttPort, host: '127.0.0.1', noDelay: true });
    socket.once('data', (b) => {
      if (b[0] !== 0x20 || b[3] !== 0) return reject(new Error(`${d.id}: not accepted (${b.subarray(0, 4).toString('hex')})`));
      sockets.set(d.id, socket);
      resolve();
    });
    socket.once('error', reject);
    socket.write(connects.get(d.id)!);
  });
}

async function connectAll(): Promise<number> {
  const start = performance.now();
  let next = 0;
  let retries = 0;
  await Promise.all(
    Array.from({ length: Math.min(IN_FLIGHT, devices.length) }, async () => {
      while (next < devices.length) {
        const d = devices[next++]!;
        for (;;) {
          try {
            await connectDevice(d);
            break;
          } catch {
            retries++; // refused while the gateway was still starting: try again, as firmware does
          }
        }
      }
    }),
  );
  if (retries > 0) console.log(`  (${retries} connects retried)`);
  return performance.now() - start;
}

const rss = (child: ChildProcess) => Number(/VmRSS:\s+(\d+)/.exec(readFileSync(`/proc/${child.pid}/status`, 'utf8'))?.[1] ?? 0) / 1024;

let gw = await startGateway();
const firstMs = await connectAll();
console.log(`first start: ${DEVICES.toLocaleString('en-US')} devices connected in ${(firstMs / 1000).toFixed(2)} s = ${Math.round(DEVICES / (firstMs / 1000)).toLocaleString('en-US')} connections/s; gateway RSS ${rss(gw.child).toFixed(0)} MB`);

gw.child.kill('SIGKILL');
await new Promise((r) => gw.child.once('exit', r));
for (const s of sockets.values()) s.destroy();
sockets.clear();
const restartAt = performance.now();
gw = await startGateway();
const stormMs = await connectAll();
const total = performance.now() - restartAt;
console.log(
  `restart (SIGKILL): gateway up in ${((gw.readyAt - restartAt) / 1000).toFixed(2)} s, then all ${DEVICES.toLocaleString('en-US')} devices connected again in ${(stormMs / 1000).toFixed(2)} s = ${Math.round(DEVICES / (stormMs / 1000)).toLocaleString('en-US')} connections/s (${(total / 1000).toFixed(2)} s from the kill's restart); gateway RSS ${rss(gw.child).toFixed(0)} MB`,
);
for (const s of sockets.values()) s.destroy();
gw.child.kill('SIGTERM');
await new Promise((r) => gw.child.once('exit', r));
rmSync(dataDir, { recursive: true, force: true });
process.exit(0);
