import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import mqtt, { type IClientOptions, type MqttClient } from 'mqtt';
import { buildApp, type BuildOptions, type CarebellApp } from '../../src/app.ts';
import { parseConfig, type ConfigInput } from '../../src/config/config.ts';
import type { Clock } from '../../src/core/clock.ts';
import type { BusEventName, BusEvents } from '../../src/core/event-bus.ts';
import { silentLogger } from '../../src/core/logger.ts';
import { listen, type Listening } from '../../src/listen.ts';

export const ADMIN_TOKEN = 'test-admin-token-0123456789abcdef';

export interface TestGateway {
  app: CarebellApp;
  urls: Listening;
  dataDir: string;
  api<T = any>(method: string, path: string, body?: unknown, token?: string | null): Promise<{ status: number; body: T }>;
  /** Creates district → street → community and one resident; returns their ids. */
  seedResident(): Promise<{ districtId: string; streetId: string; communityId: string; residentId: string }>;
  onboardDevice(profile: string, residentId: string, id?: string): Promise<DeviceCredentials>;
  connect(creds: DeviceCredentials, extra?: IClientOptions): Promise<MqttClient>;
  /** Flushes buffered telemetry, then reads a device's stored readings (oldest first). */
  readings(deviceId: string, kind?: string): Promise<Array<{ kind: string; ts: number; value: number }>>;
  /** Resolves with the first bus event matching the predicate. */
  waitFor<K extends BusEventName>(name: K, match?: (p: BusEvents[K]) => boolean): Promise<BusEvents[K]>;
  stop(): Promise<void>;
}

export interface DeviceCredentials {
  id: string;
  profile: string;
  mqtt: { clientId: string; username: string; password: string; topics: { publish: string[]; subscribe: string[] } };
}

export async function startGateway(
  opts: { config?: ConfigInput; clock?: Clock; dataDir?: string; keepData?: boolean; telemetry?: BuildOptions['telemetry']; alarms?: BuildOptions['alarms']; jobs?: BuildOptions['jobs']; ownership?: boolean } = {},
): Promise<TestGateway> {
  const dataDir = opts.dataDir ?? mkdtempSync(join(tmpdir(), 'carebell-test-'));
  const config = parseConfig({
    dataDir,
    mqttHost: '127.0.0.1',
    mqttPort: 0,
    httpHost: '127.0.0.1',
    httpPort: 0,
    adminToken: ADMIN_TOKEN,
    logLevel: 'silent',
    telemetryFlushMs: 20,
    ...opts.config,
  });
  const app = await buildApp({ config, log: silentLogger, ...(opts.clock ? { clock: opts.clock } : {}), ...(opts.telemetry ? { telemetry: opts.telemetry } : {}), ...(opts.alarms ? { alarms: opts.alarms } : {}), ...(opts.jobs !== undefined ? { jobs: opts.jobs } : {}), ...(opts.ownership ? { ownership: true } : {}) });
  const urls = await listen(app);
  await app.firstStart(); // as `carebell start` does once listening: the admin account exists
  const clients = new Set<MqttClient>();

  const api: TestGateway['api'] = async (method, path, body, token = ADMIN_TOKEN) => {
    const headers: Record<string, string> = {};
    if (token) headers.authorization = `Bearer ${token}`;
    if (body !== undefined) headers['content-type'] = 'application/json';
    const res = await fetch(`${urls.httpUrl}${path}`, { method, headers, ...(body !== undefined ? { body: typeof body === 'string' ? body : JSON.stringify(body) } : {}) });
    const text = await res.text();
    let parsed: unknown = text;
    try {
      parsed = JSON.parse(text);
    } catch {
      /* not JSON */
    }
    return { status: res.status, body: parsed as any };
  };

  const must = async <T>(p: Promise<{ status: number; body: T }>, status = 201): Promise<T> => {
    const r = await p;
    if (r.status !== status) throw new Error(`expected ${status}, got ${r.status}: ${JSON.stringify(r.body)}`);
    return r.body;
  };

  const gw: TestGateway = {
    app,
    urls,
    dataDir,
    api,
    async seedResident() {
      const district = await must(api('POST', '/api/v1/stations', { name: '滨江区养老服务指导中心', level: 'district' }));
      const street = await must(api('POST', '/api/v1/stations', { name: '西兴街道居家养老服务中心', level: 'street', parentId: (district as any).id }));
      const community = await must(api('POST', '/api/v1/stations', { name: '江汉社区养老服务站', level: 'community', parentId: (street as any).id }));
      const resident = await must(
        api('POST', '/api/v1/residents', {
          name: '王秀英',
          address: '江汉路 12 号 3 单元 502',
          stationId: (community as any).id,
          livesAlone: true,
          capabilityLevel: 2,
          contacts: [{ name: '李明', relation: 'son', phone: '+86 138 0000 0001', priority: 1 }],
        }),
      );
      return { districtId: (district as any).id, streetId: (street as any).id, communityId: (community as any).id, residentId: (resident as any).id };
    },
    async onboardDevice(profile, residentId, id) {
      return must(api('POST', '/api/v1/devices', { profile, residentId, ...(id ? { id } : {}) })) as Promise<DeviceCredentials>;
    },
    async connect(creds, extra = {}) {
      const client = mqtt.connect(urls.mqttUrl, {
        clientId: creds.mqtt.clientId,
        username: creds.mqtt.username,
        password: creds.mqtt.password,
        protocolVersion: 4,
        reconnectPeriod: 0,
        connectTimeout: 5_000,
        ...extra,
      });
      clients.add(client);
      await new Promise<void>((resolve, reject) => {
        client.once('connect', () => resolve());
        client.once('error', reject);
      });
      return client;
    },
    async readings(deviceId, kind) {
      await app.telemetry.flush();
      return app.sink.query({ deviceId, ...(kind ? { kind } : {}), from: 0, to: Number.MAX_SAFE_INTEGER });
    },
    waitFor(name, match) {
      return new Promise((resolve) => {
        const off = app.bus.on(name, (payload) => {
          if (!match || match(payload)) {
            off();
            resolve(payload);
          }
        });
      });
    },
    async stop() {
      await Promise.all([...clients].map((c) => c.endAsync(true).catch(() => {})));
      await app.close();
      if (!opts.keepData && !opts.dataDir) rmSync(dataDir, { recursive: true, force: true });
    },
  };
  return gw;
}

/** Connects and expects a refusal; resolves with the error mqtt.js reports. */
export function connectRefused(url: string, options: IClientOptions): Promise<Error & { code?: number }> {
  return new Promise((resolve, reject) => {
    const client = mqtt.connect(url, { protocolVersion: 4, reconnectPeriod: 0, connectTimeout: 5_000, ...options });
    client.once('connect', () => {
      client.end(true);
      reject(new Error('connection was accepted'));
    });
    client.once('error', (err) => {
      client.end(true);
      resolve(err as Error & { code?: number });
    });
  });
}
