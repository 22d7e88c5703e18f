import type { SqlClient } from './sql-client.ts';
import { Replica } from './replica.ts';
import type { StationVisitPlans } from '../core/care-profile.ts';

export type StationLevel = 'district' | 'street' | 'community';

export interface Station {
  id: string;
  name: string;
  level: StationLevel;
  parentId: string | null;
  webhookUrl: string | null;
  /** What to do for each alarm type (e.g. fall → "先电话确认…"); a station below inherits what it does not say itself. */
  responsePlans: Record<string, string>;
  createdAt: number;
}

interface Row {
  id: string;
  name: string;
  level: StationLevel;
  parent_id: string | null;
  webhook_url: string | null;
  response_plans: string | null;
  visit_plans: string | null;
  created_at: number;
}

const toStation = (r: Row): Station => ({
  id: r.id,
  name: r.name,
  level: r.level,
  parentId: r.parent_id,
  webhookUrl: r.webhook_url,
  responsePlans: r.response_plans ? (JSON.parse(r.response_plans) as Record<string, string>) : {},
  createdAt: Number(r.created_at),
});

/** The only parent level each level accepts: district → street → community. */
export const parentLevel: Record<StationLevel, StationLevel | null> = {
  district: null,
  street: 'district',
  community: 'street',
};

/**
 * The station tree (district → street → community), on the store interface
 * (SqlClient: embedded SQLite or PostgreSQL). A district has a few hundred
 * stations at most and every request asks about them (an operator's scope,
 * an alarm's chain of stations), so the whole tree is kept in memory: reads
 * answer from it, synchronously; a change is written to the store first and
 * then to memory, so memory never holds what the store refused. `load()`
 * reads it all at start, and again whenever another node has changed it
 * (store/replica.ts).
 */
export class StationRepository {
  readonly #sql: SqlClient;
  #byId = new Map<string, Station>();
  #visitPlans = new Map<string, StationVisitPlans>();
  #children = new Map<string, string[]>();
  /** In creation order (then id): the order lists come in. */
  #ordered: Station[] = [];

  readonly #replica: Replica;

  constructor(sql: SqlClient) {
    this.#sql = sql;
    this.#replica = new Replica(sql, 'carebell_stations', () => this.#read());
  }

  /** Reads the whole tree from the store, and from then on again whenever another node changes it. */
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
    const rows = await this.#sql.all<Row>('SELECT id, name, level, parent_id, webhook_url, response_plans, visit_plans, created_at FROM stations ORDER BY created_at, id');
    this.#byId = new Map();
    this.#visitPlans = new Map();
    for (const r of rows) {
      this.#byId.set(r.id, toStation(r));
      if (r.visit_plans) this.#visitPlans.set(r.id, JSON.parse(r.visit_plans) as StationVisitPlans);
    }
    this.#reindex();
  }

  #reindex(): void {
    this.#ordered = [...this.#byId.values()].sort((a, b) => a.createdAt - b.createdAt || (a.id < b.id ? -1 : a.id > b.id ? 1 : 0));
    this.#children = new Map();
    for (const s of this.#ordered) {
      if (s.parentId === null) continue;
      const siblings = this.#children.get(s.parentId);
      if (siblings) siblings.push(s.id);
      else this.#children.set(s.parentId, [s.id]);
    }
  }

  async insert(s: Station): Promise<void> {
    await this.#sql.run('INSERT INTO stations (id, name, level, parent_id, webhook_url, created_at) VALUES (?, ?, ?, ?, ?, ?)', [s.id, s.name, s.level, s.parentId, s.webhookUrl, s.createdAt]);
    this.#byId.set(s.id, { ...s, responsePlans: {} });
    this.#reindex();
    await this.#replica.changed(s.id);
  }

  /** Renames a station or sets its webhook (null: none). */
  async update(id: string, patch: { name?: string; webhookUrl?: string | null }): Promise<void> {
    const sets: string[] = [];
    const params: unknown[] = [];
    if (patch.name !== undefined) sets.push('name = ?') && params.push(patch.name);
    if (patch.webhookUrl !== undefined) sets.push('webhook_url = ?') && params.push(patch.webhookUrl);
    if (sets.length === 0) return;
    await this.#sql.run(`UPDATE stations SET ${sets.join(', ')} WHERE id = ?`, [...params, id]);
    const s = this.#byId.get(id);
    if (!s) return;
    this.#byId.set(id, { ...s, ...(patch.name !== undefined ? { name: patch.name } : {}), ...(patch.webhookUrl !== undefined ? { webhookUrl: patch.webhookUrl } : {}) });
    this.#reindex();
    await this.#replica.changed(id);
  }

  async setResponsePlans(id: string, plans: Record<string, string>): Promise<void> {
    await this.#sql.run('UPDATE stations SET response_plans = ? WHERE id = ?', [JSON.stringify(plans), id]);
    const s = this.#byId.get(id);
    if (s) this.#byId.set(id, { ...s, responsePlans: { ...plans } });
    this.#reindex();
    await this.#replica.changed(id);
  }

  /** A station's own visit plans by category (care programmes); a station below inherits what it does not say itself. */
  async setVisitPlans(id: string, plans: StationVisitPlans): Promise<void> {
    await this.#sql.run('UPDATE stations SET visit_plans = ? WHERE id = ?', [JSON.stringify(plans), id]);
    this.#visitPlans.set(id, structuredClone(plans));
    await this.#replica.changed(id);
  }

  ownVisitPlans(id: string): StationVisitPlans {
    return structuredClone(this.#visitPlans.get(id) ?? {});
  }

  /** The visit plans by category that apply at a station: for each category, its own, else the nearest station above's. */
  visitPlans(stationId: string): StationVisitPlans {
    const merged: StationVisitPlans = {};
    for (const s of [...this.chain(stationId)].reverse()) Object.assign(merged, this.ownVisitPlans(s.id));
    return merged;
  }

  /** The plan for an alarm type that applies at a station: its own, else the nearest station above's. */
  responsePlan(stationId: string, alarmType: string): { plan: string; stationId: string } | null {
    for (const s of this.chain(stationId)) if (s.responsePlans[alarmType]) return { plan: s.responsePlans[alarmType]!, stationId: s.id };
    return null;
  }

  get(id: string): Station | undefined {
    return this.#byId.get(id);
  }

  list(): Station[] {
    return [...this.#ordered];
  }

  /** The station and every station below it: what an operator of that station watches over. */
  subtree(id: string): string[] {
    const out = [id];
    for (let i = 0; i < out.length; i++) for (const child of this.#children.get(out[i]!) ?? []) out.push(child);
    return out;
  }

  /** The station and every station above it, nearest first: community → street → district. */
  chain(id: string): Station[] {
    const out: Station[] = [];
    const seen = new Set<string>();
    for (let s = this.#byId.get(id); s && !seen.has(s.id); s = s.parentId === null ? undefined : this.#byId.get(s.parentId)) {
      seen.add(s.id);
      out.push(s);
    }
    return out;
  }
}
