import type { Db } from '../store/database.ts';
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

/** One unresolved alarm per subject and type: the dedupe key. */
export const openKey = (subject: string, type: string): string => `${subject}\u0000${type}`;

export class AlarmRepository {
  readonly #db: Db;
  readonly #get;
  readonly #byOpenKey;
  readonly #timeline;
  readonly #addTimeline;
  constructor(db: Db) {
    this.#db = db;
    this.#get = db.prepare('SELECT * FROM alarms WHERE id = ?');
    this.#byOpenKey = db.prepare('SELECT * FROM alarms WHERE open_key = ?');
    this.#timeline = db.prepare('SELECT at, kind, actor, detail FROM alarm_timeline WHERE alarm_id = ? ORDER BY id');
    this.#addTimeline = db.prepare('INSERT INTO alarm_timeline (alarm_id, at, kind, actor, detail) VALUES (?, ?, ?, ?, ?)');
  }

  insert(a: Alarm, key: string): void {
    this.#db
      .prepare(
        `INSERT INTO alarms (id, type, severity, state, resident_id, device_id, station_id, raised_at, updated_at, count, escalation_level, policy, detail, open_key)
         VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
      )
      .run(a.id, a.type, a.severity, a.state, a.residentId, a.deviceId, a.stationId, a.raisedAt, a.updatedAt, a.count, a.escalationLevel, a.policy, a.detail ? JSON.stringify(a.detail) : null, key);
  }

  get(id: string): Alarm | undefined {
    const row = this.#get.get(id) as Row | undefined;
    return row && toAlarm(row);
  }

  findOpen(key: string): Alarm | undefined {
    const row = this.#byOpenKey.get(key) as Row | undefined;
    return row && toAlarm(row);
  }

  repeated(id: string, now: number): void {
    this.#db.prepare('UPDATE alarms SET count = count + 1, updated_at = ? WHERE id = ?').run(now, id);
  }

  raiseSeverity(id: string, severity: Severity, policy: string, now: number): void {
    this.#db.prepare('UPDATE alarms SET severity = ?, policy = ?, updated_at = ? WHERE id = ?').run(severity, policy, now, id);
  }

  setEscalationLevel(id: string, level: number, now: number): void {
    this.#db.prepare('UPDATE alarms SET escalation_level = max(escalation_level, ?), updated_at = ? WHERE id = ?').run(level, now, id);
  }

  assign(id: string, to: string | null, now: number): void {
    this.#db.prepare('UPDATE alarms SET assigned_to = ?, updated_at = ? WHERE id = ?').run(to, now, id);
  }

  /** Keeps each contact's latest answer. */
  setResponses(id: string, responses: ContactResponse[], now: number): void {
    this.#db.prepare('UPDATE alarms SET responses = ?, updated_at = ? WHERE id = ?').run(JSON.stringify(responses), now, id);
  }

  /** The first responder on site is kept (the statistic is time to the first one). */
  onSite(id: string, by: string, now: number): void {
    this.#db.prepare('UPDATE alarms SET on_site_at = coalesce(on_site_at, ?), on_site_by = coalesce(on_site_by, ?), updated_at = ? WHERE id = ?').run(now, by, now, id);
  }

  acknowledge(id: string, by: string, now: number): void {
    this.#db.prepare("UPDATE alarms SET state = 'acknowledged', acknowledged_at = ?, acknowledged_by = ?, updated_at = ? WHERE id = ?").run(now, by, now, id);
  }

  resolve(id: string, by: string, outcome: string, now: number): void {
    this.#db
      .prepare("UPDATE alarms SET state = 'resolved', resolved_at = ?, resolved_by = ?, outcome = ?, open_key = NULL, updated_at = ? WHERE id = ?")
      .run(now, by, outcome, now, id);
  }

  /** Appends to an alarm's timeline; returns the entry's id. */
  addTimeline(alarmId: string, at: number, kind: TimelineKind, actor: string, detail?: Record<string, unknown>): number {
    return Number(this.#addTimeline.run(alarmId, at, kind, actor, detail ? JSON.stringify(detail) : null).lastInsertRowid);
  }

  timelineEntry(entryId: number): TimelineEntry | undefined {
    const r = this.#db.prepare('SELECT at, kind, actor, detail FROM alarm_timeline WHERE id = ?').get(entryId) as { at: number; kind: TimelineKind; actor: string; detail: string | null } | undefined;
    return r && { at: r.at, kind: r.kind, actor: r.actor, detail: r.detail ? (JSON.parse(r.detail) as Record<string, unknown>) : null };
  }

  /** Rewrites the detail of one entry (a delivery that keeps failing is one line, its count going up). */
  updateTimelineDetail(entryId: number, detail: Record<string, unknown>): void {
    this.#db.prepare('UPDATE alarm_timeline SET detail = ? WHERE id = ?').run(JSON.stringify(detail), entryId);
  }

  timeline(alarmId: string): TimelineEntry[] {
    return (this.#timeline.all(alarmId) as Array<{ at: number; kind: TimelineKind; actor: string; detail: string | null }>).map((r) => ({
      at: r.at,
      kind: r.kind,
      actor: r.actor,
      detail: r.detail ? (JSON.parse(r.detail) as Record<string, unknown>) : null,
    }));
  }

  list(q: AlarmQuery): Alarm[] {
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
    return (this.#db.prepare(sql).all(...args, q.limit, q.offset ?? 0) as Row[]).map(toAlarm);
  }

  /** What the response statistics read of the alarms raised in [from, to) at these stations (jobs/statistics.ts). */
  forStatistics(
    stationIds: string[],
    from: number,
    to: number,
  ): Array<{ type: string; severity: string; raised_at: number; acknowledged_at: number | null; acknowledged_by: string | null; resolved_at: number | null; resolved_by: string | null; on_site_at: number | null; outcome: string | null }> {
    return this.#db
      .prepare(
        `SELECT type, severity, raised_at, acknowledged_at, acknowledged_by, resolved_at, resolved_by, on_site_at, outcome FROM alarms
         WHERE station_id IN (${stationIds.map(() => '?').join(',') || 'NULL'}) AND raised_at >= ? AND raised_at < ?`,
      )
      .all(...stationIds, from, to) as ReturnType<AlarmRepository['forStatistics']>;
  }

  countOpenBySeverity(): Record<string, number> {
    const rows = this.#db.prepare("SELECT severity, count(*) AS n FROM alarms WHERE state != 'resolved' GROUP BY severity").all() as Array<{ severity: string; n: number }>;
    return Object.fromEntries(rows.map((r) => [r.severity, r.n]));
  }
}
