import type { Db } from './database.ts';

export type StationLevel = 'district' | 'street' | 'community';

export interface Station {
  id: string;
  name: string;
  level: StationLevel;
  parentId: string | null;
  webhookUrl: string | null;
  createdAt: number;
}

interface Row {
  id: string;
  name: string;
  level: StationLevel;
  parent_id: string | null;
  webhook_url: string | null;
  created_at: number;
}

const toStation = (r: Row): Station => ({
  id: r.id,
  name: r.name,
  level: r.level,
  parentId: r.parent_id,
  webhookUrl: r.webhook_url,
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
