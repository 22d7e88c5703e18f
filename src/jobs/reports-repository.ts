import { newId } from '../core/ids.ts';
import type { SqlClient } from '../store/sql-client.ts';

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
  periodStart: Number(r.period_start),
  periodEnd: Number(r.period_end),
  createdAt: Number(r.created_at),
  body: JSON.parse(r.body),
});

/** Stored reports on any backend (store/sql-client.ts): portable SQL. */
export class ReportRepository {
  readonly #sql: SqlClient;
  constructor(sql: SqlClient) {
    this.#sql = sql;
  }

  async insert(r: Omit<StoredReport, 'id'>): Promise<StoredReport> {
    const report = { ...r, id: newId('rpt') };
    await this.#sql.run('INSERT INTO reports (id, kind, subject, period_start, period_end, created_at, body) VALUES (?, ?, ?, ?, ?, ?, ?)', [report.id, r.kind, r.subject, r.periodStart, r.periodEnd, r.createdAt, JSON.stringify(r.body)]);
    return report;
  }

  async get(id: string): Promise<StoredReport | undefined> {
    const row = await this.#sql.get<Row>('SELECT * FROM reports WHERE id = ?', [id]);
    return row && toReport(row);
  }

  async list(q: { kind?: ReportKind; subject?: string; limit: number }): Promise<StoredReport[]> {
    const where: string[] = [];
    const args: unknown[] = [];
    if (q.kind) (where.push('kind = ?'), args.push(q.kind));
    if (q.subject) (where.push('subject = ?'), args.push(q.subject));
    return (await this.#sql.all<Row>(`SELECT * FROM reports ${where.length ? 'WHERE ' + where.join(' AND ') : ''} ORDER BY period_start DESC, created_at DESC LIMIT ?`, [...args, q.limit])).map(toReport);
  }
}
