import { fileURLToPath } from 'node:url';
import { ManualClock } from '../../src/core/clock.ts';
import { EventBus } from '../../src/core/event-bus.ts';
import { silentLogger } from '../../src/core/logger.ts';
import type { Alarm } from '../../src/core/alarm.ts';
import type { Tx } from '../../src/core/tx.ts';
import { openDatabase, type Db } from '../../src/store/database.ts';
import { UnitOfWork } from '../../src/store/unit-of-work.ts';
import { SqliteClient, type SqlClient } from '../../src/store/sql-client.ts';
import { StationRepository, type Station } from '../../src/store/stations.ts';
import { ResidentRepository, type Contact, type Resident } from '../../src/store/residents.ts';
import { DeviceRepository } from '../../src/store/devices.ts';
import { ProviderRepository } from '../../src/store/users.ts';
import { DeviceDirectory } from '../../src/devices/directory.ts';
import { loadProfileDirectory } from '../../src/profiles/registry.ts';
import { AlarmRepository } from '../../src/alarms/repository.ts';
import { OutboxRepository, type OutboxItem } from '../../src/alarms/outbox-repository.ts';
import { EscalationStepRepository } from '../../src/escalation/steps-repository.ts';
import { AlarmService, type RaiseInput } from '../../src/alarms/service.ts';
import { AlarmEngine } from '../../src/alarms/engine.ts';
import { OutboxWorker, type RetryPolicy } from '../../src/notify/worker.ts';
import type { Channel } from '../../src/notify/channels/channel.ts';

/**
 * The alarm core alone, for unit tests: an in-memory SQLite database with the
 * real repositories, the alarm service, the outbox worker and the engine, a
 * manual clock, and channels the test controls. No broker, no HTTP, no timer:
 * the test moves the clock and calls `engine.runDue()`.
 */

export const profiles = loadProfileDirectory(fileURLToPath(new URL('../../device-profiles/', import.meta.url)));

/** A channel that records what it was asked to send and fails while `down` says so. */
export class TestChannel implements Channel {
  readonly name: Channel['name'];
  sent: Array<{ alarmId: string; event: string; step: number; target: string }> = [];
  /** Return an error message to fail this delivery, or undefined to deliver it. */
  down: (item: OutboxItem) => string | undefined = () => undefined;
  /** Deliveries wait for this before settling (a slow channel). */
  gate: Promise<void> | undefined;
  readonly #all: string[];
  constructor(name: Channel['name'], all: string[]) {
    this.name = name;
    this.#all = all;
  }
  async send(item: OutboxItem): Promise<Record<string, unknown> | void> {
    if (this.gate) await this.gate;
    const error = this.down(item);
    if (error) throw new Error(error);
    const t = item.delivery.target;
    const sent = { alarmId: item.alarmId, event: item.event, step: item.step, target: t.kind === 'device' ? t.id : t.kind === 'station' ? t.id : t.name };
    this.sent.push(sent);
    this.#all.push(`${sent.event}:${sent.step}:${sent.target}`);
    return item.delivery.channel === 'console' ? { consoles: 1 } : undefined;
  }
}

export interface CoreOptions {
  retry?: RetryPolicy;
  /** Where the alarm core keeps its data (store/sql-client.ts): another backend than the in-memory SQLite that holds the stations and residents. */
  sql?: SqlClient;
  /** The community station's own webhook (the street and district have theirs too unless null). */
  webhooks?: boolean;
  /** This node's name (its outbox leases), for several cores on one store. */
  node?: string;
}

export async function buildCore(opts: CoreOptions = {}) {
  const db: Db = openDatabase(null);
  const sql: SqlClient = opts.sql ?? new SqliteClient(db);
  const clock = new ManualClock(Date.UTC(2026, 5, 1, 2, 0));
  const log = silentLogger;
  const bus = new EventBus(log);
  const repos = {
    // The people and places stay in the embedded database here, whatever store the alarm core is given.
    stations: new StationRepository(opts.sql ? new SqliteClient(db) : sql),
    residents: new ResidentRepository(opts.sql ? new SqliteClient(db) : sql),
    providers: new ProviderRepository(opts.sql ? new SqliteClient(db) : sql),
    devices: new DeviceRepository(opts.sql ? new SqliteClient(db) : sql),
    alarms: new AlarmRepository(sql),
    outbox: new OutboxRepository(sql),
    steps: new EscalationStepRepository(sql),
  };
  const directory = new DeviceDirectory({ devices: repos.devices, residents: repos.residents, profiles, bus, clock });
  const uow = new UnitOfWork(sql);
  let kicks = 0;
  /** An alarm service over this store; a second one is what a restart sees (nothing in memory, the same database). */
  const newService = (unitOfWork = new UnitOfWork(sql)) =>
    new AlarmService({
      ...repos,
      uow: unitOfWork,
      targets: { stations: repos.stations, residents: repos.residents, directory, providers: repos.providers },
      bus,
      clock,
      log,
      onWork: () => kicks++,
    });
  const service = newService(uow);
  /** Every delivery made, on any channel, in order: "event:step:target". */
  const sent: string[] = [];
  const channels = { console: new TestChannel('console', sent), webhook: new TestChannel('webhook', sent), mqtt: new TestChannel('mqtt', sent) };
  const worker = new OutboxWorker({
    outbox: repos.outbox,
    alarms: repos.alarms,
    service,
    residents: repos.residents,
    channels: Object.values(channels),
    clock,
    log,
    ...(opts.retry ? { retry: opts.retry } : {}),
    ...(opts.node ? { node: opts.node } : {}),
  });
  const engine = new AlarmEngine({ service, evaluator: { tick: async () => undefined }, worker, log });

  const events: Array<{ name: 'alarm.raised' | 'alarm.updated'; alarmId: string; change?: string }> = [];
  bus.on('alarm.raised', ({ alarm }) => events.push({ name: 'alarm.raised', alarmId: alarm.id }));
  bus.on('alarm.updated', ({ alarm, change }) => events.push({ name: 'alarm.updated', alarmId: alarm.id, change }));

  const station = async (id: string, level: Station['level'], parentId: string | null): Promise<Station> => {
    const s: Station = { id, name: `${id} name`, level, parentId, webhookUrl: opts.webhooks ? `http://127.0.0.1:9/${id}` : null, responsePlans: {}, createdAt: 0 };
    await repos.stations.insert(s);
    return s;
  };
  await station('district-1', 'district', null);
  await station('street-1', 'street', 'district-1');
  await station('community-1', 'community', 'street-1');

  const resident = async (id: string, patch: Partial<Resident> = {}, contacts: Array<Partial<Contact>> = []): Promise<Resident> => {
    const r: Resident = {
      id,
      name: `${id} name`,
      address: 'somewhere',
      stationId: 'community-1',
      providerId: null,
      livesAlone: false,
      capabilityLevel: 1,
      timezone: 'Asia/Shanghai',
      notes: null,
      settings: {},
      careRecord: {},
      contacts: contacts.map((c, i) => ({ name: `contact ${i + 1}`, relation: 'son', phone: `1380000000${i}`, priority: i + 1, webhookUrl: `http://127.0.0.1:9/c${i + 1}`, ...c })),
      createdAt: 0,
      deactivatedAt: null,
      deactivation: null,
      birthDate: null,
      categories: [],
      capabilityAssessedAt: null,
      visitPlan: null,
      ...patch,
    } as Resident;
    await repos.residents.insert(r);
    return r;
  };

  const device = async (id: string, profileId: string, residentId: string | null, stationId: string | null = null) => {
    const record = { id, profileId, residentId, stationId, providerId: null, secretHash: '', online: false, lastSeen: null, battery: null, firstMessageAt: null, createdAt: 0, decommissionedAt: null };
    await repos.devices.insert(record);
    return directory.add(record);
  };

  const raise = (input: Partial<RaiseInput> & { residentId: string | null }, within?: Tx): Promise<Alarm> =>
    service.raise({ type: 'sos', severity: 'critical', subject: input.deviceId ?? input.residentId ?? 'subject', deviceId: null, stationId: null, detail: {}, actor: 'device', ...input }, within);

  /** Timeline kinds of an alarm, in order. */
  const kinds = async (alarmId: string) => (await repos.alarms.timeline(alarmId)).map((e) => e.kind);
  const outbox = (alarmId: string) => repos.outbox.forAlarm(alarmId);
  const pendingSteps = async (alarmId: string) => (await repos.steps.pendingFor(alarmId)).map((s) => ({ step: s.step, kind: s.kind, inSeconds: (s.dueAt - clock.now()) / 1000 }));

  return { db, sql, clock, newService, bus, repos, directory, uow, service, worker, engine, channels, sent, events, kicks: () => kicks, resident, device, raise, kinds, outbox, pendingSteps, close: () => db.close() };
}

export type Core = Awaited<ReturnType<typeof buildCore>>;
