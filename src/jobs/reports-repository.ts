import { newId } from '../core/ids.ts';
import type { Db } from '../store/database.ts';

export type ReportKind = 'device_health' | 'station_monthly';

export interface StoredReport {
  id: string;
  kind: ReportKind;
  subject: string;
  periodStart: number;
  periodEnd: number;
  createdAt: number;
  body: unknown;
}

interface Row {
  id: string;
  kind: ReportKind;
  subject: string;
  period_start: number;
  period_end: number;
  created_at: number;
  body: string;
}

const toReport = (r: Row): StoredReport => ({
  id: r.id,
  kind: r.kind,
  subject: r.subject,
  periodStart: r.period_start,
  periodEnd: r.period_end,
  createdAt: r.created_at,
  body: JSON.parse(r.body),
});

export class ReportRepository {
  readonly #db: Db;
  constructor(db: Db) {
    this.#db = db;
  }

  insert(r: Omit<StoredReport, 'id'>): StoredReport {
    const report = { ...r, id: newId('rpt') };
    this.#db
      .prepare('INSERT INTO reports (id, kind, subject, period_start, period_end, created_at, body) VALUES (?, ?, ?, ?, ?, ?, ?)')
      .run(report.id, r.kind, r.subject, r.periodStart, r.periodEnd, r.createdAt, JSON.stringify(r.body));
    return report;
  }

  get(id: string): StoredReport | undefined {
    const row = this.#db.prepare('SELECT * FROM reports WHERE id = ?').get(id) as Row | undefined;
    return row && toReport(row);
  }

  list(q: { kind?: ReportKind; subject?: string; limit: number }): StoredReport[] {
    const where: string[] = [];
    const args: unknown[] = [];
    if (q.kind) (where.push('kind = ?'), args.push(q.kind));
    if (q.subject) (where.push('subject = ?'), args.push(q.subject));
    return (this.#db.prepare(`SELECT * FROM reports ${where.length ? 'WHERE ' + where.join(' AND ') : ''} ORDER BY period_start DESC, created_at DESC LIMIT ?`).all(...args, q.limit) as Row[]).map(toReport);
  }
}
