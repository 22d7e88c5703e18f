import type { Db } from './database.ts';
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
  created_at: number;
}

const toStation = (r: Row): Station => ({
  id: r.id,
  name: r.name,
  level: r.level,
  parentId: r.parent_id,
  webhookUrl: r.webhook_url,
  responsePlans: r.response_plans ? (JSON.parse(r.response_plans) as Record<string, string>) : {},
  createdAt: r.created_at,
});

/** The only parent level each level accepts: district → street → community. */
export const parentLevel: Record<StationLevel, StationLevel | null> = {
  district: null,
  street: 'district',
  community: 'street',
};

export class StationRepository {
  readonly #db: Db;
  constructor(db: Db) {
    this.#db = db;
  }

  insert(s: Station): void {
    this.#db
      .prepare('INSERT INTO stations (id, name, level, parent_id, webhook_url, created_at) VALUES (?, ?, ?, ?, ?, ?)')
      .run(s.id, s.name, s.level, s.parentId, s.webhookUrl, s.createdAt);
  }

  /** Renames a station or sets its webhook (null: none). */
  update(id: string, patch: { name?: string; webhookUrl?: string | null }): void {
    if (patch.name !== undefined) this.#db.prepare('UPDATE stations SET name = ? WHERE id = ?').run(patch.name, id);
    if (patch.webhookUrl !== undefined) this.#db.prepare('UPDATE stations SET webhook_url = ? WHERE id = ?').run(patch.webhookUrl, id);
  }

  setResponsePlans(id: string, plans: Record<string, string>): void {
    this.#db.prepare('UPDATE stations SET response_plans = ? WHERE id = ?').run(JSON.stringify(plans), id);
  }

  /** A station's own visit plans by category (care programmes); a station below inherits what it does not say itself. */
  setVisitPlans(id: string, plans: StationVisitPlans): void {
    this.#db.prepare('UPDATE stations SET visit_plans = ? WHERE id = ?').run(JSON.stringify(plans), id);
  }

  ownVisitPlans(id: string): StationVisitPlans {
    const text = this.#db.prepare('SELECT visit_plans FROM stations WHERE id = ?').pluck().get(id) as string | null | undefined;
    return text ? (JSON.parse(text) as StationVisitPlans) : {};
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
    const row = this.#db.prepare('SELECT * FROM stations WHERE id = ?').get(id) as Row | undefined;
    return row && toStation(row);
  }

  list(): Station[] {
    return (this.#db.prepare('SELECT * FROM stations ORDER BY created_at, id').all() as Row[]).map(toStation);
  }

  /** The station and every station below it: what an operator of that station watches over. */
  subtree(id: string): string[] {
    return this.#db
      .prepare(
        `WITH RECURSIVE down(id) AS (SELECT ? UNION ALL SELECT s.id FROM stations s JOIN down ON s.parent_id = down.id)
         SELECT id FROM down`,
      )
      .pluck()
      .all(id) as string[];
  }

  /** The station and every station above it, nearest first: community → street → district. */
  chain(id: string): Station[] {
    const rows = this.#db
      .prepare(
        `WITH RECURSIVE up(id, depth) AS (SELECT ?, 0 UNION ALL SELECT s.parent_id, up.depth + 1 FROM stations s JOIN up ON s.id = up.id WHERE s.parent_id IS NOT NULL)
         SELECT s.* FROM up JOIN stations s ON s.id = up.id ORDER BY up.depth`,
      )
      .all(id) as Row[];
    return rows.map(toStation);
  }
}
