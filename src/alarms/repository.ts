import type { SqlClient } from '../store/sql-client.ts';
import { sqlOf, type Tx } from '../store/unit-of-work.ts';
import type { Alarm, AlarmState, ContactResponse, Severity, TimelineEntry, TimelineKind } from '../core/alarm.ts';

interface Row {
  id: string;
  type: string;
  severity: Severity;
  state: AlarmState;
  resident_id: string | null;
  device_id: string | null;
  station_id: string | null;
  raised_at: number;
  updated_at: number;
  count: number;
  escalation_level: number;
  policy: string;
  detail: string | null;
  acknowledged_at: number | null;
  acknowledged_by: string | null;
  resolved_at: number | null;
  resolved_by: string | null;
  outcome: Alarm['outcome'];
  assigned_to: string | null;
  responses: string | null;
  on_site_at: number | null;
  on_site_by: string | null;
}

const toAlarm = (r: Row): Alarm => ({
  id: r.id,
  type: r.type,
  severity: r.severity,
  state: r.state,
  residentId: r.resident_id,
  deviceId: r.device_id,
  stationId: r.station_id,
  raisedAt: r.raised_at,
  updatedAt: r.updated_at,
  count: r.count,
  escalationLevel: r.escalation_level,
  policy: r.policy,
  detail: r.detail ? (JSON.parse(r.detail) as Record<string, unknown>) : null,
  acknowledgedAt: r.acknowledged_at,
  acknowledgedBy: r.acknowledged_by,
  resolvedAt: r.resolved_at,
  resolvedBy: r.resolved_by,
  outcome: r.outcome,
  assignedTo: r.assigned_to,
  responses: r.responses ? (JSON.parse(r.responses) as ContactResponse[]) : [],
  onSiteAt: r.on_site_at,
  onSiteBy: r.on_site_by,
});

export interface AlarmQuery {
  state?: AlarmState;
  severity?: Severity;
  residentId?: string;
  stationIds?: string[];
  /** Alarms of these residents or these devices (a provider's scope). */
  within?: { residentIds: string[]; deviceIds: string[] };
  from?: number;
  to?: number;
  limit: number;
  offset?: number;
}

/** What the statistics read of an alarm. */
export interface StatisticsRow {
  type: string;
  severity: string;
  raised_at: number;
  acknowledged_at: number | null;
  acknowledged_by: string | null;
  resolved_at: number | null;
  resolved_by: string | null;
  on_site_at: number | null;
  outcome: string | null;
}

/**
 * One unresolved alarm per subject and type: the dedupe key. `|` appears in
 * neither a device id, a resident id nor an alarm type (and unlike the NUL it
 * once was, PostgreSQL's text holds it).
 */
export const openKey = (subject: string, type: string): string => `${subject}|${type}`;

/**
 * Alarms and their timelines, on any backend (store/sql-client.ts): portable
 * SQL only. Outside a transaction it runs on the store's client; `in(tx)` is
 * the same repository inside an open transaction.
 */
export class AlarmRepository {
  readonly #sql: SqlClient;
  constructor(sql: SqlClient) {
    this.#sql = sql;
  }

  in(tx: Tx): AlarmRepository {
    return new AlarmRepository(sqlOf(tx));
  }

  async insert(a: Alarm, key: string): Promise<void> {
    await this.#sql.run(
      `INSERT INTO alarms (id, type, severity, state, resident_id, device_id, station_id, raised_at, updated_at, count, escalation_level, policy, detail, open_key)
       VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
      [a.id, a.type, a.severity, a.state, a.residentId, a.deviceId, a.stationId, a.raisedAt, a.updatedAt, a.count, a.escalationLevel, a.policy, a.detail ? JSON.stringify(a.detail) : null, key],
    );
  }

  async get(id: string): Promise<Alarm | undefined> {
    const row = await this.#sql.get<Row>('SELECT * FROM alarms WHERE id = ?', [id]);
    return row && toAlarm(row);
  }

  async findOpen(key: string): Promise<Alarm | undefined> {
    const row = await this.#sql.get<Row>('SELECT * FROM alarms WHERE open_key = ?', [key]);
    return row && toAlarm(row);
  }

  async repeated(id: string, now: number): Promise<void> {
    await this.#sql.run('UPDATE alarms SET count = count + 1, updated_at = ? WHERE id = ?', [now, id]);
  }

  async raiseSeverity(id: string, severity: Severity, policy: string, now: number): Promise<void> {
    await this.#sql.run('UPDATE alarms SET severity = ?, policy = ?, updated_at = ? WHERE id = ?', [severity, policy, now, id]);
  }

  async setEscalationLevel(id: string, level: number, now: number): Promise<void> {
    await this.#sql.run('UPDATE alarms SET escalation_level = CASE WHEN escalation_level > ? THEN escalation_level ELSE ? END, updated_at = ? WHERE id = ?', [level, level, now, id]);
  }

  async assign(id: string, to: string | null, now: number): Promise<void> {
    await this.#sql.run('UPDATE alarms SET assigned_to = ?, updated_at = ? WHERE id = ?', [to, now, id]);
  }

  /** Keeps each contact's latest answer. */
  async setResponses(id: string, responses: ContactResponse[], now: number): Promise<void> {
    await this.#sql.run('UPDATE alarms SET responses = ?, updated_at = ? WHERE id = ?', [JSON.stringify(responses), now, id]);
  }

  /** The first responder on site is kept (the statistic is time to the first one). */
  async onSite(id: string, by: string, now: number): Promise<void> {
    await this.#sql.run('UPDATE alarms SET on_site_at = coalesce(on_site_at, ?), on_site_by = coalesce(on_site_by, ?), updated_at = ? WHERE id = ?', [now, by, now, id]);
  }

  async acknowledge(id: string, by: string, now: number): Promise<void> {
    await this.#sql.run("UPDATE alarms SET state = 'acknowledged', acknowledged_at = ?, acknowledged_by = ?, updated_at = ? WHERE id = ?", [now, by, now, id]);
  }

  async resolve(id: string, by: string, outcome: string, now: number): Promise<void> {
    await this.#sql.run("UPDATE alarms SET state = 'resolved', resolved_at = ?, resolved_by = ?, outcome = ?, open_key = NULL, updated_at = ? WHERE id = ?", [now, by, outcome, now, id]);
  }

  /** Appends to an alarm's timeline; returns the entry's id. */
  async addTimeline(alarmId: string, at: number, kind: TimelineKind, actor: string, detail?: Record<string, unknown>): Promise<number> {
    const row = await this.#sql.get<{ id: number }>('INSERT INTO alarm_timeline (alarm_id, at, kind, actor, detail) VALUES (?, ?, ?, ?, ?) RETURNING id', [alarmId, at, kind, actor, detail ? JSON.stringify(detail) : null]);
    return Number(row!.id);
  }

  async timelineEntry(entryId: number): Promise<TimelineEntry | undefined> {
    const r = await this.#sql.get<{ at: number; kind: TimelineKind; actor: string; detail: string | null }>('SELECT at, kind, actor, detail FROM alarm_timeline WHERE id = ?', [entryId]);
    return r && { at: r.at, kind: r.kind, actor: r.actor, detail: r.detail ? (JSON.parse(r.detail) as Record<string, unknown>) : null };
  }

  /** Rewrites the detail of one entry (a delivery that keeps failing is one line, its count going up). */
  async updateTimelineDetail(entryId: number, detail: Record<string, unknown>): Promise<void> {
    await this.#sql.run('UPDATE alarm_timeline SET detail = ? WHERE id = ?', [JSON.stringify(detail), entryId]);
  }

  async timeline(alarmId: string): Promise<TimelineEntry[]> {
    const rows = await this.#sql.all<{ at: number; kind: TimelineKind; actor: string; detail: string | null }>('SELECT at, kind, actor, detail FROM alarm_timeline WHERE alarm_id = ? ORDER BY id', [alarmId]);
    return rows.map((r) => ({ at: r.at, kind: r.kind, actor: r.actor, detail: r.detail ? (JSON.parse(r.detail) as Record<string, unknown>) : null }));
  }

  async list(q: AlarmQuery): Promise<Alarm[]> {
    const where: string[] = [];
    const args: unknown[] = [];
    if (q.state) (where.push('state = ?'), args.push(q.state));
    if (q.severity) (where.push('severity = ?'), args.push(q.severity));
    if (q.residentId) (where.push('resident_id = ?'), args.push(q.residentId));
    if (q.stationIds) (where.push(`station_id IN (${q.stationIds.map(() => '?').join(',') || 'NULL'})`), args.push(...q.stationIds));
    if (q.within) {
      const { residentIds, deviceIds } = q.within;
      where.push(`(resident_id IN (${residentIds.map(() => '?').join(',') || 'NULL'}) OR device_id IN (${deviceIds.map(() => '?').join(',') || 'NULL'}))`);
      args.push(...residentIds, ...deviceIds);
    }
    if (q.from !== undefined) (where.push('raised_at >= ?'), args.push(q.from));
    if (q.to !== undefined) (where.push('raised_at < ?'), args.push(q.to));
    const order = "CASE severity WHEN 'critical' THEN 0 WHEN 'major' THEN 1 WHEN 'minor' THEN 2 ELSE 3 END, raised_at";
    const sql = `SELECT * FROM alarms ${where.length ? 'WHERE ' + where.join(' AND ') : ''} ORDER BY ${q.state === 'resolved' ? 'raised_at DESC' : order} LIMIT ? OFFSET ?`;
    return (await this.#sql.all<Row>(sql, [...args, q.limit, q.offset ?? 0])).map(toAlarm);
  }

  /** What the response statistics read of the alarms raised in [from, to) at these stations (jobs/statistics.ts). */
  forStatistics(stationIds: string[], from: number, to: number): Promise<StatisticsRow[]> {
    return this.#sql.all<StatisticsRow>(
      `SELECT type, severity, raised_at, acknowledged_at, acknowledged_by, resolved_at, resolved_by, on_site_at, outcome FROM alarms
       WHERE station_id IN (${stationIds.map(() => '?').join(',') || 'NULL'}) AND raised_at >= ? AND raised_at < ?`,
      [...stationIds, from, to],
    );
  }

  async countOpenBySeverity(): Promise<Record<string, number>> {
    const rows = await this.#sql.all<{ severity: string; n: number }>("SELECT severity, count(*) AS n FROM alarms WHERE state != 'resolved' GROUP BY severity");
    return Object.fromEntries(rows.map((r) => [r.severity, Number(r.n)]));
  }
}
