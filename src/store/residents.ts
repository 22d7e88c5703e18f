import type { SqlClient } from './sql-client.ts';
import { Replica } from './replica.ts';
import { sqlOf, type Tx } from './unit-of-work.ts';
import type { ResidentSettings } from '../core/resident-settings.ts';
import type { CareRecord } from './care-record.ts';
import type { CareCategory, VisitPlanItem } from '../core/care-profile.ts';

export interface Contact {
  name: string;
  relation: string;
  phone: string;
  priority: number;
  webhookUrl: string | null;
}

export interface Resident {
  id: string;
  name: string;
  address: string;
  stationId: string;
  providerId: string | null;
  livesAlone: boolean;
  capabilityLevel: number;
  timezone: string;
  notes: string | null;
  settings: ResidentSettings;
  /** Health, medicines, allergies, mobility, doctor, how to get in, language: for responders. */
  careRecord: CareRecord;
  contacts: Contact[];
  createdAt: number;
  /** When the resident left the programme (null: in it), and why. Their alarms and records are kept. */
  deactivatedAt: number | null;
  deactivation: Deactivation | null;
  /** YYYY-MM-DD, when known. */
  birthDate: string | null;
  /** Who the policies single out for visits (lives_alone is also `livesAlone`). */
  categories: CareCategory[];
  /** When the capability level was last assessed (YYYY-MM-DD). */
  capabilityAssessedAt: string | null;
  /** The resident's own visit plan; null: from their categories and station. */
  visitPlan: VisitPlanItem[] | null;
  /** Their own phone, for phone greetings. */
  phone: string | null;
}

export const deactivationReasons = ['moved_to_care_home', 'died', 'moved_away', 'other'] as const;
export interface Deactivation {
  reason: (typeof deactivationReasons)[number];
  note: string | null;
  /** Who recorded it: role:username. */
  by: string;
}

interface Row {
  id: string;
  name: string;
  address: string;
  station_id: string;
  provider_id: string | null;
  lives_alone: number;
  capability_level: number;
  timezone: string;
  notes: string | null;
  settings: string;
  care_record: string | null;
  created_at: number;
  deactivated_at: number | null;
  deactivation: string | null;
  birth_date: string | null;
  categories: string | null;
  capability_assessed_at: string | null;
  phone: string | null;
  visit_plan: string | null;
}
interface ContactRow {
  resident_id: string;
  name: string;
  relation: string;
  phone: string;
  priority: number;
  webhook_url: string | null;
}

const toContact = (c: ContactRow): Contact => ({
  name: c.name,
  relation: c.relation,
  phone: c.phone,
  priority: c.priority,
  webhookUrl: c.webhook_url,
});

type ResidentPatch = Partial<Pick<Resident, 'name' | 'address' | 'livesAlone' | 'capabilityLevel' | 'notes' | 'contacts' | 'careRecord' | 'birthDate' | 'categories' | 'capabilityAssessedAt' | 'visitPlan' | 'phone'>>;

const column = {
  name: 'name',
  address: 'address',
  livesAlone: 'lives_alone',
  capabilityLevel: 'capability_level',
  notes: 'notes',
  careRecord: 'care_record',
  birthDate: 'birth_date',
  categories: 'categories',
  capabilityAssessedAt: 'capability_assessed_at',
  visitPlan: 'visit_plan',
  phone: 'phone',
} as const;
const jsonColumns = new Set(['careRecord', 'categories', 'visitPlan']);

/** A copy a caller may change without changing what is kept. */
const copy = (r: Resident): Resident => ({ ...r, contacts: r.contacts.map((c) => ({ ...c })) });

/**
 * The residents and their contacts, on the store interface (SqlClient:
 * embedded SQLite or PostgreSQL). Kept in memory, as the device directory
 * keeps the devices: every alarm's targets, every rule's settings and most
 * pages ask for them, and a district's tens of thousands fit (about a
 * kilobyte each). Reads answer from memory with a copy; a change is written
 * to the store first (in the caller's transaction when given, into memory
 * once it commits) and then to memory; `load()` reads them all at start, and
 * again whenever another node has changed them (store/replica.ts).
 */
export class ResidentRepository {
  readonly #sql: SqlClient;
  #byId = new Map<string, Resident>();
  readonly #replica: Replica;

  constructor(sql: SqlClient) {
    this.#sql = sql;
    this.#replica = new Replica(sql, 'carebell_residents', () => this.#read());
  }

  /** Reads them all, and from then on again whenever another node changes them. */
  load(): Promise<void> {
    return this.#replica.load();
  }

  /** Resolves once a change another node made has been read. */
  nextReload(): Promise<void> {
    return this.#replica.nextReload();
  }
  /** Resolves once no reload another node's change brought is under way. */
  settled(): Promise<void> {
    return this.#replica.settled();
  }

  async #read(): Promise<void> {
    const [rows, contacts] = await Promise.all([
      this.#sql.all<Row>('SELECT * FROM residents ORDER BY created_at, id'),
      this.#sql.all<ContactRow>('SELECT resident_id, name, relation, phone, priority, webhook_url FROM contacts ORDER BY priority, id'),
    ]);
    const byResident = new Map<string, ContactRow[]>();
    for (const c of contacts) {
      const list = byResident.get(c.resident_id);
      if (list) list.push(c);
      else byResident.set(c.resident_id, [c]);
    }
    this.#byId = new Map(rows.map((r) => [r.id, this.#toResident(r, byResident.get(r.id) ?? [])]));
  }

  /** Within `tx` when given (the resident is kept once it commits), else in a transaction of its own. */
  async insert(r: Resident, tx?: Tx): Promise<void> {
    const write = async (sql: SqlClient) => {
      await sql.run(
        `INSERT INTO residents (id, name, address, station_id, provider_id, lives_alone, capability_level, timezone, notes, settings, care_record, created_at, birth_date, categories, capability_assessed_at, visit_plan, phone)
         VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
        [
          r.id,
          r.name,
          r.address,
          r.stationId,
          r.providerId,
          r.livesAlone ? 1 : 0,
          r.capabilityLevel,
          r.timezone,
          r.notes,
          JSON.stringify(r.settings),
          JSON.stringify(r.careRecord),
          r.createdAt,
          r.birthDate,
          JSON.stringify(r.categories),
          r.capabilityAssessedAt,
          r.visitPlan ? JSON.stringify(r.visitPlan) : null,
          r.phone,
        ],
      );
      await this.#insertContacts(sql, r.id, r.contacts);
    };
    const keep = () => {
      this.#byId.set(r.id, copy({ ...r, contacts: [...r.contacts].sort((a, b) => a.priority - b.priority) }));
      void this.#replica.changed(r.id);
    };
    if (tx) {
      await write(sqlOf(tx));
      tx.afterCommit(keep);
      return;
    }
    await this.#sql.transaction(write);
    keep();
  }

  async #insertContacts(sql: SqlClient, residentId: string, contacts: readonly Contact[]): Promise<void> {
    for (const c of contacts) await sql.run('INSERT INTO contacts (resident_id, name, relation, phone, priority, webhook_url) VALUES (?, ?, ?, ?, ?, ?)', [residentId, c.name, c.relation, c.phone, c.priority, c.webhookUrl]);
  }

  /** Changes the given details and, when `contacts` is given, replaces the contacts; one transaction. */
  async update(id: string, patch: ResidentPatch): Promise<void> {
    await this.#sql.transaction(async (sql) => {
      const sets: string[] = [];
      const args: unknown[] = [];
      for (const [key, col] of Object.entries(column) as Array<[keyof typeof column, string]>) {
        const value = patch[key];
        if (value === undefined) continue;
        sets.push(`${col} = ?`);
        args.push(key === 'livesAlone' ? (value ? 1 : 0) : jsonColumns.has(key) && value !== null ? JSON.stringify(value) : value);
      }
      if (sets.length > 0) await sql.run(`UPDATE residents SET ${sets.join(', ')} WHERE id = ?`, [...args, id]);
      if (patch.contacts) {
        await sql.run('DELETE FROM contacts WHERE resident_id = ?', [id]);
        await this.#insertContacts(sql, id, patch.contacts);
      }
    });
    const current = this.#byId.get(id);
    if (current) {
      const next: Resident = { ...current };
      for (const key of Object.keys(column) as Array<keyof typeof column>) if (patch[key] !== undefined) (next as unknown as Record<string, unknown>)[key] = patch[key];
      if (patch.contacts) next.contacts = [...patch.contacts].sort((a, b) => a.priority - b.priority);
      this.#byId.set(id, copy(next));
    }
    await this.#replica.changed(id);
  }

  /** Marks a resident as having left; false when there is no such resident still in the programme. */
  async deactivate(id: string, deactivation: Deactivation, now: number): Promise<boolean> {
    const { changes } = await this.#sql.run('UPDATE residents SET deactivated_at = ?, deactivation = ? WHERE id = ? AND deactivated_at IS NULL', [now, JSON.stringify(deactivation), id]);
    if (changes !== 1) return false;
    const current = this.#byId.get(id);
    if (current) this.#byId.set(id, { ...current, deactivatedAt: now, deactivation: { ...deactivation } });
    await this.#replica.changed(id);
    return true;
  }

  async updateSettings(id: string, settings: ResidentSettings): Promise<boolean> {
    const { changes } = await this.#sql.run('UPDATE residents SET settings = ? WHERE id = ?', [JSON.stringify(settings), id]);
    if (changes !== 1) return false;
    const current = this.#byId.get(id);
    if (current) this.#byId.set(id, { ...current, settings: structuredClone(settings) });
    await this.#replica.changed(id);
    return true;
  }

  get(id: string): Resident | undefined {
    const r = this.#byId.get(id);
    return r && copy(r);
  }

  /** In the order they joined; of one station when asked. */
  list(filter: { stationId?: string } = {}): Resident[] {
    const out: Resident[] = [];
    for (const r of this.#byId.values()) if (!filter.stationId || r.stationId === filter.stationId) out.push(copy(r));
    return out.sort((a, b) => a.createdAt - b.createdAt || (a.id < b.id ? -1 : a.id > b.id ? 1 : 0));
  }

  #toResident(r: Row, contacts: ContactRow[]): Resident {
    return {
      id: r.id,
      name: r.name,
      address: r.address,
      stationId: r.station_id,
      providerId: r.provider_id,
      livesAlone: Number(r.lives_alone) === 1,
      capabilityLevel: Number(r.capability_level),
      timezone: r.timezone,
      notes: r.notes,
      settings: JSON.parse(r.settings) as ResidentSettings,
      careRecord: r.care_record ? (JSON.parse(r.care_record) as CareRecord) : {},
      contacts: contacts.map(toContact),
      createdAt: Number(r.created_at),
      deactivatedAt: r.deactivated_at === null ? null : Number(r.deactivated_at),
      deactivation: r.deactivation ? (JSON.parse(r.deactivation) as Deactivation) : null,
      birthDate: r.birth_date,
      categories: r.categories ? (JSON.parse(r.categories) as CareCategory[]) : [],
      capabilityAssessedAt: r.capability_assessed_at,
      visitPlan: r.visit_plan ? (JSON.parse(r.visit_plan) as VisitPlanItem[]) : null,
      phone: r.phone ?? null,
    };
  }
}
