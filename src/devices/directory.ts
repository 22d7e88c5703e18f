import type { Clock } from '../core/clock.ts';
import type { EventBus } from '../core/event-bus.ts';
import type { DeviceContext, DeviceStatusChange } from '../core/model.ts';
import type { CompiledMessage, CompiledProfile, ProfileRegistry } from '../profiles/registry.ts';
import type { DeviceRecord, DeviceRepository } from '../store/devices.ts';
import type { ResidentRepository } from '../store/residents.ts';

/**
 * A device in service, as the whole pipeline sees it (broker, ingest, rules,
 * alarms): who it belongs to (the DeviceContext fields), its compiled
 * profile and its live state, kept in memory. The database row
 * (store/devices.ts DeviceRecord) is only what is saved of it.
 */
export interface KnownDevice extends DeviceContext {
  readonly id: string;
  readonly profileId: string;
  readonly residentId: string | null;
  readonly stationId: string | null;
  readonly providerId: string | null;
  readonly profile: CompiledProfile;
  secretHash: string;
  decommissioned: boolean;
  online: boolean;
  lastSeen: number | null;
  battery: number | null;
  firstMessageAt: number | null;
  /** Concrete topic → message spec, filled on first use. */
  readonly topics: Map<string, CompiledMessage | null>;
  /** The topics this device may publish on: its profile's uplinks, filled with its id. */
  readonly uplinks: ReadonlySet<string>;
}

export interface DeviceDirectoryDeps {
  devices: DeviceRepository;
  residents: ResidentRepository;
  profiles: ProfileRegistry;
  bus: EventBus;
  clock: Clock;
}

/**
 * The in-memory directory of registered devices. Live state (online, last
 * seen, battery) changes on every message, so it is kept here and written to
 * the store in batches by `persist()`.
 */
export class DeviceDirectory {
  readonly #deps: DeviceDirectoryDeps;
  readonly #byId = new Map<string, KnownDevice>();
  /** Records being read again for other nodes' notices. */
  readonly #reading = new Set<Promise<void>>();
  readonly #dirty = new Set<KnownDevice>();
  /** The devices of each resident, and each station's own (no resident: a siren), for an alarm's targets (not a walk through the fleet). */
  readonly #byResident = new Map<string, Set<KnownDevice>>();
  readonly #byStation = new Map<string, Set<KnownDevice>>();
  #revision = 0;

  constructor(deps: DeviceDirectoryDeps) {
    this.#deps = deps;
  }

  /** A device another node re-keyed or took out of service: its connection here, if any, must close. */
  onRevoked: ((deviceId: string) => void) | undefined;

  /**
   * Loads every device; those this node held (`node`; every one on a single
   * gateway) start offline until they connect. From then on, a device another
   * node adds, re-keys or takes out of service is read again at once (NOTIFY
   * on PostgreSQL), so it can connect here and its old secret stops working
   * here too.
   */
  async load(node?: string): Promise<void> {
    await this.#deps.devices.listen((id) => {
      const reading = (id === null ? this.#reloadAll() : this.refresh(id)).catch(() => {});
      this.#reading.add(reading);
      void reading.finally(() => this.#reading.delete(reading));
    });
    await this.#deps.devices.markOffline(node);
    for (const record of await this.#deps.devices.list()) this.add(record);
  }

  /** Resolves once every record another node's notice asked for so far has been read. */
  async settled(): Promise<void> {
    await Promise.all([...this.#reading]);
  }

  async #reloadAll(): Promise<void> {
    for (const record of await this.#deps.devices.list()) await this.refresh(record.id, record);
  }

  /** Reads a device's record again (another node changed it): added if new, its secret and service state taken if known. */
  async refresh(id: string, record?: DeviceRecord): Promise<void> {
    const r = record ?? (await this.#deps.devices.get(id));
    if (!r) return;
    const known = this.#byId.get(id);
    if (!known) return void this.add(r);
    const revoked = known.secretHash !== r.secretHash || (!known.decommissioned && r.decommissionedAt !== null);
    known.secretHash = r.secretHash;
    if (known.decommissioned !== (r.decommissionedAt !== null)) {
      known.decommissioned = r.decommissionedAt !== null;
      this.#revision++;
    }
    if (revoked) this.onRevoked?.(id);
  }

  /**
   * Reads again when adopted devices were last heard (written by the node
   * that held them), so their silence is counted from then, not from when
   * this node last read the table.
   */
  async rereadLastSeen(ids: readonly string[]): Promise<void> {
    if (ids.length === 0) return;
    const wanted = new Set(ids);
    // One read of the table, not one a device: a node that died may have held thousands.
    for (const r of await this.#deps.devices.list()) {
      const known = wanted.has(r.id) ? this.#byId.get(r.id) : undefined;
      if (known && r.lastSeen !== null && (known.lastSeen ?? 0) < r.lastSeen) known.lastSeen = r.lastSeen;
    }
  }

  add(record: DeviceRecord): KnownDevice {
    const profile = this.#deps.profiles.get(record.profileId);
    if (!profile) throw new Error(`device ${record.id} uses unknown profile ${record.profileId}`);
    const stationId = record.stationId ?? (record.residentId ? (this.#deps.residents.get(record.residentId)?.stationId ?? null) : null);
    const device: KnownDevice = {
      id: record.id,
      profile,
      profileId: record.profileId,
      residentId: record.residentId,
      stationId,
      providerId: record.providerId,
      secretHash: record.secretHash,
      decommissioned: record.decommissionedAt !== null,
      online: false,
      lastSeen: record.lastSeen,
      battery: record.battery,
      firstMessageAt: record.firstMessageAt,
      topics: new Map(),
      uplinks: new Set(profile.uplinkTopics(record.id)),
    };
    const replaced = this.#byId.get(record.id);
    if (replaced) this.#index(replaced, false);
    this.#byId.set(record.id, device);
    this.#index(device, true);
    this.#revision++;
    return device;
  }

  /** A record's resident and station are fixed: a device given to another resident is a new record (add). */
  #index(device: KnownDevice, add: boolean): void {
    for (const [map, key] of [
      [this.#byResident, device.residentId],
      [this.#byStation, device.residentId === null ? device.stationId : null],
    ] as const) {
      if (key === null) continue;
      let set = map.get(key);
      if (add) {
        if (!set) map.set(key, (set = new Set()));
        set.add(device);
      } else if (set?.delete(device) && set.size === 0) map.delete(key);
    }
  }

  /** A resident's devices, in service or not. */
  ofResident(residentId: string): KnownDevice[] {
    return [...(this.#byResident.get(residentId) ?? [])];
  }

  /** A station's own devices (no resident's: its siren), in service or not. */
  ofStation(stationId: string): KnownDevice[] {
    return [...(this.#byStation.get(stationId) ?? [])];
  }

  /** The device is taken out of service (its record says so already): it can no longer connect, and its silence raises nothing. */
  decommissioned(device: KnownDevice): void {
    if (device.decommissioned) return;
    device.decommissioned = true;
    this.#revision++;
  }

  /** Changes whenever a device is added or taken out of service (the rule evaluator reads the fleet again then). */
  get revision(): number {
    return this.#revision;
  }

  get(id: string): KnownDevice | undefined {
    return this.#byId.get(id);
  }

  all(): KnownDevice[] {
    return [...this.#byId.values()];
  }

  messageFor(device: KnownDevice, topic: string): CompiledMessage | undefined {
    let m = device.topics.get(topic);
    if (m === undefined) {
      m = device.profile.messageFor(device.id, topic) ?? null;
      if (device.topics.size < 64) device.topics.set(topic, m);
    }
    return m ?? undefined;
  }

  /** A message arrived from the device: it is alive. */
  heard(device: KnownDevice, now: number): void {
    device.lastSeen = now;
    if (device.firstMessageAt === null) device.firstMessageAt = now;
    this.#dirty.add(device);
  }

  /** Stores a device's secret hash in a newer scheme (after a login proved the secret). */
  async replaceSecretHash(device: KnownDevice, secretHash: string): Promise<void> {
    await this.#deps.devices.setSecretHash(device.id, secretHash);
    device.secretHash = secretHash;
  }

  setBattery(device: KnownDevice, battery: number): void {
    device.battery = battery;
    this.#dirty.add(device);
  }

  setOnline(device: KnownDevice, online: boolean, reason: DeviceStatusChange['reason']): void {
    const now = this.#deps.clock.now();
    if (online) device.lastSeen = now;
    if (device.online === online) return;
    device.online = online;
    this.#dirty.add(device);
    this.#deps.bus.emit('device.status', { deviceId: device.id, online, lastSeen: device.lastSeen ?? now, reason });
  }

  /**
   * Writes changed live state to SQLite, at most `max` devices (one
   * transaction); on failure (a full disk) they stay to be written next time.
   * Returns how many were written.
   */
  async persist(max = Infinity): Promise<number> {
    if (this.#dirty.size === 0) return 0;
    const devices: KnownDevice[] = [];
    for (const d of this.#dirty) {
      if (devices.length >= max) break;
      devices.push(d);
    }
    const rows = devices.map((d) => ({ id: d.id, online: d.online, lastSeen: d.lastSeen, battery: d.battery, firstMessageAt: d.firstMessageAt }));
    for (const d of devices) this.#dirty.delete(d);
    try {
      await this.#deps.devices.saveLiveState(rows);
    } catch (err) {
      for (const d of devices) this.#dirty.add(d);
      throw err;
    }
    return rows.length;
  }

  /** Devices whose live state is not yet written. */
  get unsaved(): number {
    return this.#dirty.size;
  }
}
