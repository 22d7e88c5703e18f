import type { Db } from './database.ts';
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

export class ResidentRepository {
  readonly #db: Db;
  readonly #get;
  readonly #contacts;
  constructor(db: Db) {
    this.#db = db;
    this.#get = db.prepare('SELECT * FROM residents WHERE id = ?');
    this.#contacts = db.prepare('SELECT * FROM contacts WHERE resident_id = ? ORDER BY priority, id');
  }

  insert(r: Resident): void {
    this.#db.transaction(() => {
      this.#db
        .prepare(
          `INSERT INTO residents (id, name, address, station_id, provider_id, lives_alone, capability_level, timezone, notes, settings, care_record, created_at, birth_date, categories, capability_assessed_at, visit_plan, phone)
           VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
        )
        .run(
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
        );
      const insertContact = this.#db.prepare(
        'INSERT INTO contacts (resident_id, name, relation, phone, priority, webhook_url) VALUES (?, ?, ?, ?, ?, ?)',
      );
      for (const c of r.contacts) insertContact.run(r.id, c.name, c.relation, c.phone, c.priority, c.webhookUrl);
    })();
  }

  /** Changes the given details and, when `contacts` is given, replaces the contacts; one transaction. */
  update(id: string, patch: Partial<Pick<Resident, 'name' | 'address' | 'livesAlone' | 'capabilityLevel' | 'notes' | 'contacts' | 'careRecord' | 'birthDate' | 'categories' | 'capabilityAssessedAt' | 'visitPlan' | 'phone'>>): void {
    this.#db.transaction(() => {
      const sets: string[] = [];
      const args: unknown[] = [];
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
      const json = new Set(['careRecord', 'categories', 'visitPlan']);
      for (const [key, col] of Object.entries(column) as Array<[keyof typeof column, string]>) {
        const value = patch[key];
        if (value === undefined) continue;
        sets.push(`${col} = ?`);
        args.push(key === 'livesAlone' ? (value ? 1 : 0) : json.has(key) && value !== null ? JSON.stringify(value) : value);
      }
      if (sets.length > 0) this.#db.prepare(`UPDATE residents SET ${sets.join(', ')} WHERE id = ?`).run(...args, id);
      if (patch.contacts) {
        this.#db.prepare('DELETE FROM contacts WHERE resident_id = ?').run(id);
        const insertContact = this.#db.prepare('INSERT INTO contacts (resident_id, name, relation, phone, priority, webhook_url) VALUES (?, ?, ?, ?, ?, ?)');
        for (const c of patch.contacts) insertContact.run(id, c.name, c.relation, c.phone, c.priority, c.webhookUrl);
      }
    })();
  }

  /** Marks a resident as having left; false when there is no such resident still in the programme. */
  deactivate(id: string, deactivation: Deactivation, now: number): boolean {
    return this.#db.prepare('UPDATE residents SET deactivated_at = ?, deactivation = ? WHERE id = ? AND deactivated_at IS NULL').run(now, JSON.stringify(deactivation), id).changes === 1;
  }

  updateSettings(id: string, settings: ResidentSettings): boolean {
    return this.#db.prepare('UPDATE residents SET settings = ? WHERE id = ?').run(JSON.stringify(settings), id).changes === 1;
  }

  get(id: string): Resident | undefined {
    const row = this.#get.get(id) as Row | undefined;
    if (!row) return undefined;
    const contacts = this.#contacts.all(id) as ContactRow[];
    return this.#toResident(row, contacts);
  }

  list(filter: { stationId?: string } = {}): Resident[] {
    const rows = (
      filter.stationId
        ? this.#db.prepare('SELECT * FROM residents WHERE station_id = ? ORDER BY created_at, id').all(filter.stationId)
        : this.#db.prepare('SELECT * FROM residents ORDER BY created_at, id').all()
    ) as Row[];
    const contacts = this.#db.prepare('SELECT * FROM contacts ORDER BY priority, id').all() as ContactRow[];
    const byResident = new Map<string, ContactRow[]>();
    for (const c of contacts) {
      const list = byResident.get(c.resident_id);
      if (list) list.push(c);
      else byResident.set(c.resident_id, [c]);
    }
    return rows.map((r) => this.#toResident(r, byResident.get(r.id) ?? []));
  }

  #toResident(r: Row, contacts: ContactRow[]): Resident {
    return {
      id: r.id,
      name: r.name,
      address: r.address,
      stationId: r.station_id,
      providerId: r.provider_id,
      livesAlone: r.lives_alone === 1,
      capabilityLevel: r.capability_level,
      timezone: r.timezone,
      notes: r.notes,
      settings: JSON.parse(r.settings) as ResidentSettings,
      careRecord: r.care_record ? (JSON.parse(r.care_record) as CareRecord) : {},
      contacts: contacts.map(toContact),
      createdAt: r.created_at,
      deactivatedAt: r.deactivated_at,
      deactivation: r.deactivation ? (JSON.parse(r.deactivation) as Deactivation) : null,
      birthDate: r.birth_date,
      categories: r.categories ? (JSON.parse(r.categories) as CareCategory[]) : [],
      capabilityAssessedAt: r.capability_assessed_at,
      visitPlan: r.visit_plan ? (JSON.parse(r.visit_plan) as VisitPlanItem[]) : null,
      phone: r.phone ?? null,
    };
  }
}
