import type { Clock } from '../core/clock.ts';
import { conflict, invalid, notFound } from '../core/errors.ts';
import type { ResidentSettings } from '../core/resident-settings.ts';
import { newId } from '../core/ids.ts';
import { hashDeviceSecret, newSecret } from '../core/secrets.ts';
import type { CareRecord } from '../store/care-record.ts';
import { deviceIdPattern } from '../profiles/topics.ts';
import type { DeviceDirectory } from '../devices/directory.ts';
import type { ProfileRegistry } from '../profiles/registry.ts';
import type { DeviceRecord, DeviceRepository } from '../store/devices.ts';
import type { Tx } from '../store/unit-of-work.ts';
import type { CareCategory, VisitPlanItem } from '../core/care-profile.ts';
import type { ProviderRepository } from '../store/users.ts';
import type { Deactivation, Resident, ResidentRepository } from '../store/residents.ts';
import { parentLevel, type Station, type StationLevel, type StationRepository } from '../store/stations.ts';

export interface OnboardingDeps {
  stations: StationRepository;
  residents: ResidentRepository;
  devices: DeviceRepository;
  directory: DeviceDirectory;
  profiles: ProfileRegistry;
  providers: ProviderRepository;
  clock: Clock;
  onResidentChanged?: (residentId: string) => void;
  /** A device's credentials stopped being valid: its live connection must close. */
  onDeviceRevoked?: (deviceId: string) => void;
}

export interface NewStation {
  name: string;
  level: StationLevel;
  parentId?: string | null | undefined;
  webhookUrl?: string | null | undefined;
}

export interface NewResident {
  name: string;
  address: string;
  stationId: string;
  providerId?: string | null | undefined;
  livesAlone: boolean;
  capabilityLevel: number;
  timezone?: string | undefined;
  notes?: string | null | undefined;
  settings?: ResidentSettings | undefined;
  careRecord?: CareRecord | undefined;
  contacts: Array<{ name: string; relation: string; phone: string; priority: number; webhookUrl?: string | null | undefined }>;
  birthDate?: string | null | undefined;
  categories?: CareCategory[] | undefined;
  capabilityAssessedAt?: string | null | undefined;
  visitPlan?: VisitPlanItem[] | null | undefined;
  phone?: string | null | undefined;
}

/** `livesAlone` and the `lives_alone` category say the same thing: either sets both (the flag, when both are given). */
function aloneAndCategories(livesAlone: boolean | undefined, categories: CareCategory[] | undefined, current: { livesAlone: boolean; categories: CareCategory[] }): { livesAlone: boolean; categories: CareCategory[] } {
  const alone = livesAlone ?? (categories ? categories.includes('lives_alone') : current.livesAlone);
  const others = (categories ?? current.categories).filter((c) => c !== 'lives_alone');
  return { livesAlone: alone, categories: [...new Set<CareCategory>(alone ? ['lives_alone', ...others] : others)] };
}

export interface NewDevice {
  profile: string;
  residentId?: string | null | undefined;
  stationId?: string | null | undefined;
  providerId?: string | null | undefined;
  id?: string | undefined;
}

export interface DeviceCredentials {
  id: string;
  profile: string;
  mqtt: { clientId: string; username: string; password: string; topics: { publish: string[]; subscribe: string[] } };
}

/** Onboarding of the organisation tree, residents and their devices. */
export class Onboarding {
  readonly #d: OnboardingDeps;
  constructor(deps: OnboardingDeps) {
    this.#d = deps;
  }

  async createStation(input: NewStation): Promise<Station> {
    const parentId = input.parentId ?? null;
    const wantParent = parentLevel[input.level];
    if (wantParent === null && parentId !== null) throw invalid('parentId', 'a district centre has no parent');
    if (wantParent !== null) {
      if (parentId === null) throw invalid('parentId', `a ${input.level} station needs a parent ${wantParent} station`);
      const parent = this.#d.stations.get(parentId);
      if (!parent) throw invalid('parentId', `station ${parentId} does not exist`);
      if (parent.level !== wantParent) throw invalid('parentId', `a ${input.level} station's parent must be a ${wantParent} station, not a ${parent.level}`);
    }
    const station: Station = {
      id: newId('stn'),
      name: input.name,
      level: input.level,
      parentId,
      webhookUrl: input.webhookUrl ?? null,
      responsePlans: {},
      createdAt: this.#d.clock.now(),
    };
    await this.#d.stations.insert(station);
    return station;
  }

  /** Within `tx` when given (a CSV import writes every row in one). */
  async createResident(input: NewResident, tx?: Tx): Promise<Resident> {
    const station = this.#d.stations.get(input.stationId);
    if (!station) throw invalid('stationId', `station ${input.stationId} does not exist`);
    if (station.level !== 'community') throw invalid('stationId', `residents belong to a community station; ${station.id} is a ${station.level} station`);
    const priorities = input.contacts.map((c) => c.priority);
    if (new Set(priorities).size !== priorities.length) throw invalid('contacts', 'each contact needs a different priority');
    this.#checkProvider(input.providerId);
    const alone = aloneAndCategories(input.livesAlone, input.categories, { livesAlone: false, categories: [] });
    const resident: Resident = {
      id: newId('res'),
      name: input.name,
      address: input.address,
      stationId: input.stationId,
      providerId: input.providerId ?? null,
      livesAlone: alone.livesAlone,
      capabilityLevel: input.capabilityLevel,
      timezone: input.timezone ?? 'Asia/Shanghai',
      notes: input.notes ?? null,
      settings: input.settings ?? {},
      careRecord: input.careRecord ?? {},
      contacts: [...input.contacts]
        .sort((a, b) => a.priority - b.priority)
        .map((c) => ({ name: c.name, relation: c.relation, phone: c.phone, priority: c.priority, webhookUrl: c.webhookUrl ?? null })),
      createdAt: this.#d.clock.now(),
      deactivatedAt: null,
      deactivation: null,
      birthDate: input.birthDate ?? null,
      categories: alone.categories,
      capabilityAssessedAt: input.capabilityAssessedAt ?? null,
      visitPlan: input.visitPlan ?? null,
      phone: input.phone ?? null,
    };
    await this.#d.residents.insert(resident, tx);
    return resident;
  }

  /**
   * A resident left the programme (moved into a nursing home, died, moved
   * away): out of the lists, their devices decommissioned (their credentials
   * stop working and open connections close), while their alarms, timelines
   * and records are kept. Alarms still open stay for staff to resolve.
   */
  async deactivateResident(id: string, deactivation: Deactivation): Promise<{ resident: Resident; devicesDecommissioned: string[] }> {
    const resident = this.#d.residents.get(id);
    if (!resident) throw notFound('resident', id);
    if (resident.deactivatedAt !== null) throw conflict(`resident ${id} left the programme on ${new Date(resident.deactivatedAt).toISOString()} (${resident.deactivation?.reason})`);
    await this.#d.residents.deactivate(id, deactivation, this.#d.clock.now());
    const devices = this.#d.directory.ofResident(id).filter((d) => !d.decommissioned);
    for (const d of devices) await this.decommission(d.id);
    this.#d.onResidentChanged?.(id);
    return { resident: this.#d.residents.get(id)!, devicesDecommissioned: devices.map((d) => d.id) };
  }

  /** Renames a station or sets its webhook. */
  async updateStation(id: string, patch: { name?: string | undefined; webhookUrl?: string | null | undefined }): Promise<Station> {
    if (!this.#d.stations.get(id)) throw notFound('station', id);
    await this.#d.stations.update(id, { ...(patch.name !== undefined ? { name: patch.name } : {}), ...(patch.webhookUrl !== undefined ? { webhookUrl: patch.webhookUrl } : {}) });
    return this.#d.stations.get(id)!;
  }

  /** Changes a resident's details or contacts (given contacts replace the old ones). */
  async updateResident(
    id: string,
    patch: Partial<Pick<NewResident, 'name' | 'address' | 'livesAlone' | 'capabilityLevel' | 'notes' | 'contacts' | 'careRecord' | 'birthDate' | 'categories' | 'capabilityAssessedAt' | 'visitPlan' | 'phone'>>,
  ): Promise<Resident> {
    const current = this.#d.residents.get(id);
    if (!current) throw notFound('resident', id);
    const contacts = patch.contacts?.map((c) => ({ name: c.name, relation: c.relation, phone: c.phone, priority: c.priority, webhookUrl: c.webhookUrl ?? null }));
    if (contacts) {
      const priorities = contacts.map((c) => c.priority);
      if (new Set(priorities).size !== priorities.length) throw invalid('contacts', 'each contact needs a different priority');
      contacts.sort((a, b) => a.priority - b.priority);
    }
    const { contacts: _c, notes, livesAlone, categories, birthDate, capabilityAssessedAt, visitPlan, phone, ...rest } = patch;
    const alone = livesAlone !== undefined || categories !== undefined ? aloneAndCategories(livesAlone, categories, current) : {};
    await this.#d.residents.update(id, {
      ...rest,
      ...alone,
      ...(notes !== undefined ? { notes: notes ?? null } : {}),
      ...(contacts ? { contacts } : {}),
      ...(birthDate !== undefined ? { birthDate: birthDate ?? null } : {}),
      ...(capabilityAssessedAt !== undefined ? { capabilityAssessedAt: capabilityAssessedAt ?? null } : {}),
      ...(visitPlan !== undefined ? { visitPlan: visitPlan ?? null } : {}),
      ...(phone !== undefined ? { phone: phone ?? null } : {}),
    });
    this.#d.onResidentChanged?.(id);
    return this.#d.residents.get(id)!;
  }

  #checkProvider(id: string | null | undefined): void {
    if (id && !this.#d.providers.get(id)) throw invalid('providerId', `provider ${id} does not exist; POST /api/v1/providers registers one`);
  }

  /** Replaces a resident's care settings; the rules pick them up at once. */
  async updateResidentSettings(id: string, settings: ResidentSettings): Promise<Resident> {
    if (!(await this.#d.residents.updateSettings(id, settings))) throw notFound('resident', id);
    this.#d.onResidentChanged?.(id);
    return this.#d.residents.get(id)!;
  }

  /** Registers a device and issues its MQTT secret, which is shown only in this answer. */
  async createDevice(input: NewDevice): Promise<DeviceCredentials> {
    const profile = this.#d.profiles.get(input.profile);
    if (!profile) throw invalid('profile', `unknown profile ${input.profile}; GET /api/v1/profiles lists them`);
    const residentId = input.residentId ?? null;
    const stationId = input.stationId ?? null;
    if (residentId === null && stationId === null) throw invalid('residentId', 'a device belongs to a resident (or, for a siren, to a station)');
    this.#checkProvider(input.providerId);
    let providerId = input.providerId ?? null;
    if (residentId !== null) {
      const resident = this.#d.residents.get(residentId);
      if (!resident) throw invalid('residentId', `resident ${residentId} does not exist`);
      providerId ??= resident.providerId;
    }
    if (stationId !== null && !this.#d.stations.get(stationId)) throw invalid('stationId', `station ${stationId} does not exist`);
    const id = input.id ?? newId('dev');
    if (!deviceIdPattern.test(id)) throw invalid('id', 'a device id is 1-64 letters, digits, _ . : or -, starting with a letter or digit');
    if (this.#d.directory.get(id) || (await this.#d.devices.get(id))) throw conflict(`device ${id} is already registered`);

    const secret = newSecret();
    await this.addDevice({ id, profileId: profile.id, residentId, stationId, providerId }, hashDeviceSecret(secret));
    return this.credentials(id, secret);
  }

  /**
   * Writes a checked device: its record (in the caller's transaction `tx`, when
   * given) and, once that commits, its place in the directory, where the
   * broker and the rules find it. The one place a device is created: the API
   * and the CSV import both come here.
   */
  async addDevice(d: Pick<DeviceRecord, 'id' | 'profileId' | 'residentId' | 'stationId' | 'providerId'>, secretHash: string, tx?: Tx): Promise<DeviceRecord> {
    const record: DeviceRecord = { ...d, secretHash, online: false, lastSeen: null, battery: null, firstMessageAt: null, createdAt: this.#d.clock.now(), decommissionedAt: null };
    try {
      await this.#d.devices.insert(record, tx);
    } catch (err) {
      // The id taken meanwhile (SQLite's primary key, PostgreSQL's unique violation).
      const code = (err as { code?: string }).code;
      if (code === 'SQLITE_CONSTRAINT_PRIMARYKEY' || code === '23505') throw conflict(`device ${d.id} is already registered`);
      throw err;
    }
    const known = () => void this.#d.directory.add(record);
    if (tx) tx.afterCommit(known);
    else known();
    return record;
  }

  /** The answer that hands a device its credentials (the secret is never stored in clear). */
  credentials(id: string, secret: string): DeviceCredentials {
    const profile = this.#d.directory.get(id)!.profile;
    const downlink = profile.downlinkTopic(id);
    return {
      id,
      profile: profile.id,
      mqtt: {
        clientId: id,
        username: id,
        password: secret,
        topics: { publish: profile.uplinkTopics(id), subscribe: downlink ? [downlink] : [] },
      },
    };
  }

  /** Issues a new secret; the old one stops working at once and a live connection is closed. */
  async rotateSecret(id: string): Promise<DeviceCredentials> {
    const device = this.#d.directory.get(id);
    if (!device) throw notFound('device', id);
    if (device.decommissioned) throw conflict(`device ${id} is decommissioned`);
    const secret = newSecret();
    const hash = hashDeviceSecret(secret);
    await this.#d.devices.setSecretHash(id, hash);
    device.secretHash = hash;
    this.#d.onDeviceRevoked?.(id);
    return this.credentials(id, secret);
  }

  /** Takes a device out of service: it can no longer connect, and its silence raises nothing. Its history stays. */
  async decommission(id: string): Promise<void> {
    const device = this.#d.directory.get(id);
    if (!device) throw notFound('device', id);
    if (device.decommissioned) return;
    await this.#d.devices.decommission(id, this.#d.clock.now());
    this.#d.directory.decommissioned(device);
    this.#d.onDeviceRevoked?.(id);
  }
}

