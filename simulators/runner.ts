import mqtt, { type MqttClient } from 'mqtt';
import type { SimAction } from './behaviour.ts';
import type { FleetPlan, PlannedDevice } from './fleet.ts';
import type { Scenario } from './scenario.ts';
import { readSse } from '../src/core/sse-reader.ts';

/** The gateway a run talks to: its API (with an admin token) and its MQTT broker. */
export interface Target {
  apiUrl: string;
  mqttUrl: string;
  token: string;
}

export class ApiClient {
  constructor(readonly target: Target) {}
  async call<T = any>(method: string, path: string, body?: unknown): Promise<T> {
    const res = await fetch(`${this.target.apiUrl}${path}`, {
      method,
      headers: { authorization: `Bearer ${this.target.token}`, ...(body !== undefined ? { 'content-type': 'application/json' } : {}) },
      ...(body !== undefined ? { body: JSON.stringify(body) } : {}),
    });
    const data = await res.json().catch(() => null);
    if (!res.ok) throw new ApiError(`${method} ${path}: ${res.status} ${JSON.stringify(data)}`, res.status);
    return data as T;
  }
}

/** The API answered, but not with success: its HTTP status, for a caller that can tell one from another (a 409 conflict). */
export class ApiError extends Error {
  constructor(
    message: string,
    readonly status: number,
  ) {
    super(message);
    this.name = 'ApiError';
  }
}

/** Where each tier's station sends its webhooks (a soak's receivers); none by default. */
export interface StationWebhooks {
  district?: string;
  street?: string;
  community: (index: number) => string | undefined;
  /** The webhook of a resident's contact (by the plan's index): a family's phone app. */
  contact?: (resident: number) => string | undefined;
}

/** Creates the plan's organisation, residents (with contacts and settings) and devices through the API; fills in ids and passwords. */
export async function provision(plan: FleetPlan, api: ApiClient, settings?: Record<string, unknown>, webhooks?: StationWebhooks): Promise<void> {
  const hook = (url: string | undefined) => (url ? { webhookUrl: url } : {});
  if (!plan.districtId) plan.districtId = (await api.call('POST', '/api/v1/stations', { name: `${plan.prefix} 区养老服务指导中心`, level: 'district', ...hook(webhooks?.district) })).id;
  if (!plan.streetId) plan.streetId = (await api.call('POST', '/api/v1/stations', { name: `${plan.prefix} 街道居家养老服务中心`, level: 'street', parentId: plan.districtId, ...hook(webhooks?.street) })).id;
  for (const [i, station] of plan.stations.entries()) station.id ??= (await api.call('POST', '/api/v1/stations', { name: station.name, level: 'community', parentId: plan.streetId, ...hook(webhooks?.community(i)) })).id;
  // Several homes at a time: the gateway hashes each device secret (scrypt), which runs on its thread pool.
  let next = 0;
  const worker = async () => {
    while (next < plan.residents.length) await provisionResident(plan.residents[next++]!);
  };
  const provisionResident = async (r: FleetPlan['residents'][number]) => {
    r.id ??= (
      await api.call('POST', '/api/v1/residents', {
        name: r.name,
        address: r.address,
        stationId: plan.stations[r.station]!.id,
        livesAlone: r.livesAlone,
        capabilityLevel: r.capabilityLevel,
        contacts: [{ ...r.contact, priority: 1, ...hook(webhooks?.contact?.(r.index)) }],
        ...(settings ? { settings } : {}),
      })
    ).id;
    await Promise.all(
      r.devices
        .filter((d) => !d.password)
        .map(async (d) => {
          d.password = (await api.call('POST', '/api/v1/devices', { profile: d.profile, residentId: r.id, id: d.id })).mqtt.password;
        }),
    );
  };
  await Promise.all(Array.from({ length: Math.min(8, plan.residents.length) }, worker));
}

export interface RunStats {
  devices: number;
  connected: number;
  connectSeconds: number;
  published: number;
  /** Publishes the broker refused or that failed for any reason but a link the run itself dropped. */
  failed: number;
  /** Messages unacknowledged when the run dropped their device's link, sent again once it was back (as QoS 1 firmware does). */
  retried: number;
  /** Messages unacknowledged when their device went silent for good. */
  abandoned: number;
  /** Alarms raised while the run plays, counted from the gateway's live stream. */
  alarms: number;
  /** Visits recorded through the API (visitor activity). */
  visits: number;
}

export interface RunOptions {
  plan: FleetPlan;
  actions: SimAction[];
  /** The next chunk of actions once these are played (a long run planned a day at a time); undefined: no more. */
  moreActions?: () => SimAction[] | undefined;
  /** The devices' connections (from connectAll); closed at the end. */
  clients: Map<string, MqttClient>;
  target: Target;
  /** The gateway's simulated time, and how fast it runs. */
  simNow: () => number;
  speed: number;
  /** Called about once a second with a progress line. */
  progress?: (stats: RunStats, simNow: number) => void;
  /** Messages allowed in flight (QoS 1, not yet acknowledged) before the run waits. */
  maxInFlight?: number;
  /** Close the devices' connections at the end (default); a demo plays on. */
  closeClients?: boolean;
  /** Stops the run early (Ctrl-C in a demo). */
  signal?: AbortSignal;
  /**
   * For a gateway whose clock the run owns (embedded): told how far the
   * devices have got (the time of the earliest action not yet done), so the
   * gateway's time never passes a message still to be delivered.
   */
  holdClock?: (until: (() => number) | undefined) => void;
  /**
   * Send each message up to this much simulated time before its time (0: at
   * its time). With a held clock every message otherwise stops the clock at
   * its time until it is sent; a little slack keeps a fast run moving (a
   * message's own timestamp is kept, the gateway accepts it a day early).
   */
  lookaheadMs?: number;
  /**
   * Called before an action is played, at its time; the run waits for it
   * (and the clock with it). A soak kills and restarts its gateway here.
   */
  beforeAction?: (action: SimAction) => Promise<void> | undefined;
  /** Told of each message the gateway acknowledged (a redelivery that was acknowledged counts once). */
  onAcknowledged?: (deviceId: string, topic: string, payload: Buffer | string) => void;
}

const connectDevice = (mqttUrl: string, d: PlannedDevice): Promise<MqttClient> =>
  new Promise((resolve, reject) => {
    const client = mqtt.connect(mqttUrl, { clientId: d.id, username: d.id, password: d.password!, protocolVersion: 4, reconnectPeriod: 0, connectTimeout: 30_000, clean: true, keepalive: 300 });
    client.once('connect', () => resolve(client));
    client.once('error', (err) => {
      client.end(true);
      reject(new Error(`${d.id}: ${err.message}`));
    });
  });

/** Connects every device with its own credentials, `concurrency` at a time. */
export async function connectAll(plan: FleetPlan, mqttUrl: string, concurrency = 200, onConnected?: (n: number) => void): Promise<Map<string, MqttClient>> {
  const devices = plan.residents.flatMap((r) => r.devices);
  const clients = new Map<string, MqttClient>();
  let next = 0;
  const worker = async () => {
    while (next < devices.length) {
      const d = devices[next++]!;
      clients.set(d.id, await connectDevice(mqttUrl, d));
      onConnected?.(clients.size);
    }
  };
  await Promise.all(Array.from({ length: Math.min(concurrency, devices.length) }, worker));
  return clients;
}

/** Messages per second since the last call, for a progress line. */
export function rateMeter(): (published: number) => number {
  let last = 0;
  let at = performance.now();
  return (published) => {
    const rate = (published - last) / ((performance.now() - at) / 1000);
    last = published;
    at = performance.now();
    return rate;
  };
}

/** Plays the actions against the gateway in simulated time: each message is published when the gateway's clock reaches its time. */
export async function play(opts: RunOptions): Promise<RunStats> {
  const { plan, actions, target, simNow, speed, clients } = opts;
  const devices = new Map(plan.residents.flatMap((r) => r.devices).map((d) => [d.id, d]));
  const stats: RunStats = { devices: devices.size, connected: clients.size, connectSeconds: 0, published: 0, failed: 0, retried: 0, abandoned: 0, alarms: 0, visits: 0 };
  const api = new ApiClient(target);
  // The live stream counts the alarms as they are raised, for the progress line.
  const watch = new AbortController();
  const watchAlarms = (): void =>
    void fetch(`${target.apiUrl}/api/v1/stream`, { headers: { authorization: `Bearer ${target.token}` }, signal: watch.signal })
      .then((res) => res.body && readSse(res.body, (e) => e !== 'heartbeat' && e.event === 'alarm.raised' && void stats.alarms++))
      .catch(() => {})
      // Watched again after a dropped stream (a gateway restarting).
      .finally(() => !watch.signal.aborted && setTimeout(watchAlarms, 100));
  watchAlarms();
  const tick = setInterval(() => opts.progress?.(stats, simNow()), 1_000);
  const inFlight = new Set<Promise<void>>();
  const track = (p: Promise<void>) => {
    inFlight.add(p);
    void p.finally(() => inFlight.delete(p));
  };
  const connecting = new Map<string, Promise<void>>();
  const maxInFlight = opts.maxInFlight ?? 2_000;
  // Links the run dropped itself (device_silent, a reconnect storm): a publish they were carrying is not a failure.
  const dropped = new WeakSet<MqttClient>();
  const resend = new Map<string, Array<{ topic: string; payload: Buffer | string }>>();
  /** Devices off line, and the kinds of disconnect that took each down (`what`; each kind's reconnect ends it). */
  const down = new Map<string, Set<string>>();
  /** A message the device keeps until it is back on line. */
  const keep = (deviceId: string, topic: string, payload: Buffer | string): void => {
    const kept = resend.get(deviceId);
    if (kept) kept.push({ topic, payload });
    else resend.set(deviceId, [{ topic, payload }]);
  };
  const send = (deviceId: string, client: MqttClient, topic: string, payload: Buffer | string, again: boolean, settled: () => void): void => {
    if (again) stats.retried++;
    track(
      client.publishAsync(topic, payload, { qos: 1 }).then(
        () => {
          stats.published++;
          opts.onAcknowledged?.(deviceId, topic, payload);
          settled();
        },
        () => {
          if (!dropped.has(client)) {
            stats.failed++;
            return settled();
          }
          // The run dropped the link under it: the clock need not wait for a resend that may never come.
          settled();
          const current = clients.get(deviceId);
          if (current && current !== client) send(deviceId, current, topic, payload, true, () => {});
          else keep(deviceId, topic, payload);
        },
      ),
    );
  };
  // Actions are in time order; `done[i]` once action i of the chunk being played is published and
  // acknowledged (or handled). A publish the gateway has not answered in 10 s holds time no longer: the
  // run goes on and verification tells. A long run comes in chunks (moreActions): the next one is made
  // as a chunk starts (time is held by the chunk's first action meanwhile), and played once this one
  // has settled; until then time is held by what is left of this one, then by the next one's first.
  const chunkOf = (list: SimAction[]) => ({ actions: list, done: new Uint8Array(list.length), sentAt: new Float64Array(list.length), head: 0 });
  let current = chunkOf(actions);
  let upcoming: SimAction[] | undefined;
  const pending = () => {
    const c = current;
    const now = performance.now();
    while (c.head < c.actions.length && (c.done[c.head] || (c.sentAt[c.head]! > 0 && now - c.sentAt[c.head]! > 10_000))) c.head++;
    return c.head < c.actions.length ? c.actions[c.head]!.at : undefined;
  };
  const progress = () => pending() ?? upcoming?.[0]?.at ?? Number.POSITIVE_INFINITY;
  opts.holdClock?.(progress);
  try {
    for (;;) {
      upcoming = opts.moreActions?.();
      const { done, sentAt, actions: chunk } = current;
      for (const [index, action] of chunk.entries()) {
        if (opts.signal?.aborted) break;
        // Not before the gateway's clock says so (it may still be running at real speed before the run's first minute).
        // Only a message may go a little early; a disconnect or a visit happens at its time.
        const lookahead = action.kind === 'publish' ? (opts.lookaheadMs ?? 0) : 0;
        for (let ahead = action.at - lookahead - simNow(); ahead > 0 && !opts.signal?.aborted; ahead = action.at - lookahead - simNow()) await new Promise((r) => setTimeout(r, Math.max(1, Math.min(ahead / speed, 250))));
        if (opts.signal?.aborted) break;
        const before = opts.beforeAction?.(action);
        if (before) await before;
        if (action.kind === 'visit') {
          // A community worker records the visit, at the time it was made.
          const residentId = plan.residents[action.resident]?.id;
          sentAt[index] = performance.now();
          track(
            api.call('POST', `/api/v1/residents/${residentId}/visits`, { ...action.visit, at: new Date(action.at).toISOString() }).then(
              () => void stats.visits++,
              () => void stats.failed++,
            ).finally(() => (done[index] = 1)),
          );
          continue;
        }
        if (action.kind !== 'publish') {
          const client = clients.get(action.deviceId);
          // A device is back when every kind of disconnect that took it down has had its reconnect: one that
          // fell silent stays silent through a reconnect storm or a gateway restart.
          if (action.kind === 'disconnect' && (client || down.has(action.deviceId))) down.set(action.deviceId, (down.get(action.deviceId) ?? new Set()).add(action.what));
          const reasons = action.kind === 'reconnect' ? down.get(action.deviceId) : undefined;
          const reconnecting = !client && !connecting.has(action.deviceId) && reasons?.delete(action.what) === true && reasons.size === 0;
          // A reconnect holds the clock until the device is back and has redelivered what it lost: at real
          // speed a whole fleet is back within a second, and the silence rule must not see the run's own lag.
          if (reconnecting) sentAt[index] = performance.now();
          else done[index] = 1;
          if (action.kind === 'disconnect' && client) {
            clients.delete(action.deviceId);
            stats.connected--;
            dropped.add(client);
            track(client.endAsync(true).catch(() => {}));
          } else if (reconnecting) {
            // Reconnects run side by side (a reconnect storm is every device at once); the device's next message waits for its own.
            const p = connectDevice(target.mqttUrl, devices.get(action.deviceId)!).then((c) => {
              clients.set(action.deviceId, c);
              down.delete(action.deviceId);
              connecting.delete(action.deviceId);
              stats.connected++;
              const queued = resend.get(action.deviceId) ?? [];
              resend.delete(action.deviceId);
              let left = queued.length;
              if (left === 0) done[index] = 1;
              for (const m of queued) send(action.deviceId, c, m.topic, m.payload, true, () => void (--left === 0 && (done[index] = 1)));
            }, () => {
              // Refused or timed out: the device stays offline, and the run says so (a later reconnect of its kind tries again).
              connecting.delete(action.deviceId);
              down.set(action.deviceId, new Set([action.what]));
              stats.failed++;
              done[index] = 1;
            });
            connecting.set(action.deviceId, p);
            track(p);
          }
          continue;
        }
        await connecting.get(action.deviceId);
        const client = clients.get(action.deviceId);
        if (!client) {
          // Off line for now (a reconnect storm, its gateway restarting): the device keeps the message and
          // sends it once it is back. (A device that falls silent for good has nothing more to send.)
          done[index] = 1;
          keep(action.deviceId, action.topic, action.payload);
          continue;
        }
        sentAt[index] = performance.now();
        send(action.deviceId, client, action.topic, action.payload, false, () => (done[index] = 1));
        if (inFlight.size >= maxInFlight) await Promise.race(inFlight);
      }
      if (!upcoming || opts.signal?.aborted) break;
      while (pending() !== undefined && !opts.signal?.aborted) await new Promise((r) => setTimeout(r, 1));
      current = chunkOf(upcoming);
    }
    // Resends start from settling publishes: wait until nothing new is in flight.
    while (inFlight.size > 0) await Promise.all(inFlight);
    for (const queued of resend.values()) stats.abandoned += queued.length;
  } finally {
    opts.holdClock?.(undefined);
    clearInterval(tick);
    watch.abort();
    if (opts.closeClients !== false) await Promise.all([...clients.values()].map((c) => c.endAsync(true).catch(() => {})));
  }
  return stats;
}

export interface Verification {
  ok: boolean;
  rows: Array<{ resident: number; name: string; alarm: string; expected: boolean; raised: boolean; severity: string | null; cancelled: boolean }>;
  missing: string[];
  unexpected: string[];
}

/**
 * Compares the alarms the platform raised for the plan's residents during the
 * run (from the API) with the scenario's expectations. Alarms after `to` are
 * left out: once the fleet stops, its devices fall silent.
 */
export async function verify(plan: FleetPlan, scenario: Scenario, api: ApiClient, from: number, to: number): Promise<Verification> {
  const raised = new Map<string, { severity: string; cancelled: boolean }>();
  for (const r of plan.residents) {
    const alarms = await api.call<Array<{ type: string; severity: string; resolvedBy: string | null }>>('GET', `/api/v1/alarms?residentId=${r.id}&from=${new Date(from - 1000).toISOString()}&to=${new Date(to).toISOString()}&limit=500`);
    for (const a of alarms) raised.set(`${r.index}:${a.type}`, { severity: a.severity, cancelled: a.resolvedBy === 'resident' });
  }
  const expected = new Map(scenario.expect.map((e) => [`${e.resident}:${e.alarm}`, e]));
  const keys = [...new Set([...expected.keys(), ...raised.keys()])].sort((a, b) => Number(a.split(':')[0]) - Number(b.split(':')[0]) || a.localeCompare(b));
  const rows = keys.map((k) => {
    const [resident, alarm] = [Number(k.split(':')[0]), k.slice(k.indexOf(':') + 1)];
    const e = expected.get(k);
    const got = raised.get(k);
    // An alarm the resident cancelled in time counts only where the scenario expects that cancel.
    const matches = got !== undefined && (!e?.severity || got.severity === e.severity) && (!e || got.cancelled === (e.cancelledByResident ?? false));
    return { resident, name: plan.residents[resident]!.name, alarm, expected: e !== undefined, raised: e ? matches : got !== undefined, severity: got?.severity ?? null, cancelled: got?.cancelled ?? false };
  });
  const missing = rows.filter((r) => r.expected && !r.raised).map((r) => `${r.resident}:${r.alarm}`);
  const unexpected = rows.filter((r) => !r.expected && r.raised).map((r) => `${r.resident}:${r.alarm}`);
  return { ok: missing.length === 0 && unexpected.length === 0, rows, missing, unexpected };
}

export function verificationTable(v: Verification): string {
  const head = ['resident', 'alarm', 'severity', 'expected', 'raised', 'result'];
  const lines = v.rows.map((r) => [
    `${r.resident} ${r.name}`,
    r.alarm,
    `${r.severity ?? ''}${r.cancelled ? ' (cancelled by resident)' : ''}`,
    r.expected ? 'yes' : 'no',
    r.raised ? 'yes' : 'no',
    r.expected && r.raised ? 'ok' : r.expected ? 'MISSING' : 'UNEXPECTED',
  ]);
  const width = head.map((h, i) => Math.max(h.length, ...lines.map((l) => [...l[i]!].length + (l[i]!.match(/[\u4e00-\u9fff]/g)?.length ?? 0))));
  const fmt = (cells: string[]) => cells.map((c, i) => c + ' '.repeat(Math.max(0, width[i]! - [...c].length - (c.match(/[\u4e00-\u9fff]/g)?.length ?? 0)))).join('  ');
  return [fmt(head), width.map((w) => '-'.repeat(w)).join('  '), ...lines.map(fmt), '', `${v.rows.filter((r) => r.expected).length} expected, ${v.rows.filter((r) => r.raised).length} raised, ${v.missing.length} missing, ${v.unexpected.length} unexpected`].join('\n');
}
