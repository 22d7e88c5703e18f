import type { Clock } from '../core/clock.ts';
import type { DeviceProfile } from '../profiles/schema.ts';
import type { SqlClient } from '../store/sql-client.ts';
import type { DeviceRecord } from '../store/devices.ts';
import type { Resident } from '../store/residents.ts';

const DAY = 86_400_000;

/** Whether a profile's device can be tested: one of its messages maps something to the `test` event. */
export const testable = (profile: DeviceProfile): boolean =>
  profile.messages.some((m) => m.events.some((e) => e.event === 'test' || Object.values(e.map ?? {}).includes('test')));

const marks = (n: number) => Array.from({ length: n }, () => '?').join(',') || 'NULL';

/**
 * Button tests are device events of type `test` (store/device-events.ts),
 * recorded by ingest like any other and never an alarm; this reads them by
 * the time the gateway received them (a device's own clock may be wrong).
 */
export class DeviceTestRepository {
  readonly #sql: SqlClient;
  constructor(sql: SqlClient) {
    this.#sql = sql;
  }

  /** Each device's latest test (devices never tested are absent). */
  async latest(): Promise<Map<string, number>> {
    const rows = await this.#sql.all<{ device_id: string; at: number }>("SELECT device_id, max(received_at) AS at FROM device_events WHERE type = 'test' GROUP BY device_id");
    return new Map(rows.map((r) => [r.device_id, Number(r.at)]));
  }

  /** Tests of these devices received in [from, to). */
  async inPeriod(deviceIds: string[], from: number, to: number): Promise<Array<{ deviceId: string; at: number }>> {
    if (deviceIds.length === 0) return [];
    const rows = await this.#sql.all<{ device_id: string; received_at: number }>(
      `SELECT device_id, received_at FROM device_events WHERE type = 'test' AND device_id IN (${marks(deviceIds.length)}) AND received_at >= ? AND received_at < ? ORDER BY received_at`,
      [...deviceIds, from, to],
    );
    return rows.map((r) => ({ deviceId: r.device_id, at: Number(r.received_at) }));
  }

  /** A device's tests, the latest first. */
  async forDevice(deviceId: string, limit: number): Promise<number[]> {
    const rows = await this.#sql.all<{ received_at: number }>("SELECT received_at FROM device_events WHERE type = 'test' AND device_id = ? ORDER BY received_at DESC LIMIT ?", [deviceId, limit]);
    return rows.map((r) => Number(r.received_at));
  }
}

export interface DueTest {
  deviceId: string;
  profileId: string;
  model: string;
  residentId: string | null;
  name: string | null;
  address: string | null;
  stationId: string | null;
  providerId: string | null;
  /** The latest test received; null: never tested. */
  lastTestAt: number | null;
  /** The last test (or the installation) plus the policy's days. */
  dueAt: number;
  overdue: boolean;
}

export interface DeviceTestFigures {
  /** Devices that should be tested (in service, testable) during the period. */
  devices: number;
  /** Tests received in the period. */
  tests: number;
  /** Devices tested at least once in the period. */
  devicesTested: number;
  /** Devices overdue now. */
  overdueNow: number;
  policyDays: number;
}

/** A testable device in service, placed at its station (its own, else its resident's). */
type InService = DeviceRecord & { resident: Resident | undefined; profile: DeviceProfile };

export interface DeviceTestDeps {
  tests: DeviceTestRepository;
  devices: { list(): Promise<DeviceRecord[]> };
  residents: { get(id: string): Resident | undefined };
  profiles: { get(id: string): { profile: DeviceProfile } | undefined };
  clock: Clock;
  /** How often a button must be tested (JGJ/T 484-2019 §10.3.1: weekly). */
  policyDays: number;
}

/**
 * Devices known to work: a button's test is recorded (never an alarm), and
 * the devices whose last test is older than the policy are listed, for the
 * station and the provider to have tested.
 */
export class DeviceTestService {
  readonly #d: DeviceTestDeps;
  constructor(deps: DeviceTestDeps) {
    this.#d = deps;
  }

  get policyDays(): number {
    return this.#d.policyDays;
  }

  /** Devices in service that can be tested, with their station (their own, else their resident's). */
  async #inService(include: (d: DeviceRecord & { stationId: string | null }) => boolean): Promise<InService[]> {
    const out: InService[] = [];
    // Whether a model can be tested is read once per model, not once per device.
    const byProfile = new Map<string, DeviceProfile | null>();
    for (const d of await this.#d.devices.list()) {
      if (d.decommissionedAt !== null) continue;
      let profile = byProfile.get(d.profileId);
      if (profile === undefined) {
        const p = this.#d.profiles.get(d.profileId)?.profile;
        byProfile.set(d.profileId, (profile = p && testable(p) ? p : null));
      }
      if (profile === null) continue;
      const resident = d.residentId ? this.#d.residents.get(d.residentId) : undefined;
      const placed = { ...d, stationId: d.stationId ?? resident?.stationId ?? null };
      if (include(placed)) out.push({ ...placed, resident, profile });
    }
    return out;
  }

  forDevice(deviceId: string, limit = 50): Promise<number[]> {
    return this.#d.tests.forDevice(deviceId, limit);
  }

  /** Devices the caller sees whose test is due within `withinDays` days, or overdue; the most overdue first. */
  async due(include: (d: DeviceRecord) => boolean, withinDays = 0): Promise<DueTest[]> {
    return this.#due(await this.#inService(include), await this.#d.tests.latest(), withinDays);
  }

  #due(devices: InService[], latest: Map<string, number>, withinDays: number): DueTest[] {
    const now = this.#d.clock.now();
    const out: DueTest[] = [];
    for (const d of devices) {
      const lastTestAt = latest.get(d.id) ?? null;
      const dueAt = (lastTestAt ?? d.createdAt) + this.#d.policyDays * DAY;
      if (dueAt > now + withinDays * DAY) continue;
      out.push({
        deviceId: d.id,
        profileId: d.profileId,
        model: d.profile.model,
        residentId: d.residentId,
        name: d.resident?.name ?? null,
        address: d.resident?.address ?? null,
        stationId: d.stationId,
        providerId: d.providerId ?? d.resident?.providerId ?? null,
        lastTestAt,
        dueAt,
        overdue: dueAt <= now,
      });
    }
    return out.sort((a, b) => a.dueAt - b.dueAt || a.deviceId.localeCompare(b.deviceId));
  }

  /** Tests over [from, to) for the devices of these stations. */
  async statistics(stationIds: string[], from: number, to: number): Promise<DeviceTestFigures> {
    const stations = new Set(stationIds);
    const devices = await this.#inService((d) => d.stationId !== null && stations.has(d.stationId) && d.createdAt < to);
    const tests = await this.#d.tests.inPeriod(devices.map((d) => d.id), from, to);
    const overdue = this.#due(devices, await this.#d.tests.latest(), 0);
    return { devices: devices.length, tests: tests.length, devicesTested: new Set(tests.map((t) => t.deviceId)).size, overdueNow: overdue.filter((d) => d.overdue).length, policyDays: this.#d.policyDays };
  }
}
