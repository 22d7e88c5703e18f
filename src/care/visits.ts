import { conflict, invalid, notFound } from '../core/errors.ts';
import type { Clock } from '../core/clock.ts';
import { newId } from '../core/ids.ts';
import { careCategories, visitKinds, visitPlanFor, type CareCategory, type StationVisitPlans, type VisitKind, type VisitPlanItem } from '../core/care-profile.ts';
import type { SqlClient } from '../store/sql-client.ts';
import { sqlOf, type Tx } from '../store/unit-of-work.ts';
import type { Resident, ResidentRepository } from '../store/residents.ts';
import type { StationRepository } from '../store/stations.ts';

export const visitOutcomes = ['well', 'needs_follow_up', 'not_reached'] as const;
export type VisitOutcome = (typeof visitOutcomes)[number];

/** A visit or a phone greeting (探访关爱) and how it went. */
export interface Visit {
  id: string;
  residentId: string;
  /** The resident's station when the visit was made. */
  stationId: string;
  kind: VisitKind;
  at: number;
  /** Who made it: role:username. */
  by: string;
  outcome: VisitOutcome;
  observations: string | null;
  note: string | null;
  createdAt: number;
}

interface Row {
  id: string;
  resident_id: string;
  station_id: string;
  kind: VisitKind;
  at: number;
  visited_by: string;
  outcome: VisitOutcome;
  observations: string | null;
  note: string | null;
  created_at: number;
}

const toVisit = (r: Row): Visit => ({
  id: r.id,
  residentId: r.resident_id,
  stationId: r.station_id,
  kind: r.kind,
  at: Number(r.at),
  by: r.visited_by,
  outcome: r.outcome,
  observations: r.observations,
  note: r.note,
  createdAt: Number(r.created_at),
});

const list = (ids: string[]) => ids.map(() => '?').join(',') || 'NULL';

export const visitTaskReasons = ['no_activity', 'phone_not_reached', 'needs_follow_up'] as const;
export type VisitTaskReason = (typeof visitTaskReasons)[number];

/**
 * A visit asked for beyond the plan: a wellbeing check from the rules (no
 * activity), a phone greeting that reached nobody, a visit that needs
 * following up. The next visit of its kind that reaches the resident does it.
 */
export interface VisitTask {
  id: string;
  residentId: string;
  stationId: string;
  kind: VisitKind;
  reason: VisitTaskReason;
  /** What asked for it: the alarm or the visit. */
  sourceId: string | null;
  createdAt: number;
  dueAt: number;
  doneAt: number | null;
  /** The visit that did it. */
  doneBy: string | null;
}

interface TaskRow {
  id: string;
  resident_id: string;
  station_id: string;
  kind: VisitKind;
  reason: VisitTaskReason;
  source_id: string | null;
  created_at: number;
  due_at: number;
  done_at: number | null;
  done_by: string | null;
}

const toTask = (r: TaskRow): VisitTask => ({
  id: r.id,
  residentId: r.resident_id,
  stationId: r.station_id,
  kind: r.kind,
  reason: r.reason,
  sourceId: r.source_id,
  createdAt: Number(r.created_at),
  dueAt: Number(r.due_at),
  doneAt: r.done_at === null ? null : Number(r.done_at),
  doneBy: r.done_by,
});

/** Visits on any backend (store/sql-client.ts): portable SQL. */
export class VisitRepository {
  readonly #sql: SqlClient;
  constructor(sql: SqlClient) {
    this.#sql = sql;
  }

  in(tx: Tx): VisitRepository {
    return new VisitRepository(sqlOf(tx));
  }

  async insertTask(t: VisitTask): Promise<void> {
    await this.#sql.run(
      'INSERT INTO visit_tasks (id, resident_id, station_id, kind, reason, source_id, created_at, due_at, done_at, done_by) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)',
      [t.id, t.residentId, t.stationId, t.kind, t.reason, t.sourceId, t.createdAt, t.dueAt, t.doneAt, t.doneBy],
    );
  }

  /** Open tasks at these stations, the earliest due first; or one resident's. */
  async openTasks(where: { stationIds: string[] } | { residentId: string }): Promise<VisitTask[]> {
    const rows =
      'residentId' in where
        ? await this.#sql.all<TaskRow>('SELECT * FROM visit_tasks WHERE resident_id = ? AND done_at IS NULL ORDER BY due_at, id', [where.residentId])
        : await this.#sql.all<TaskRow>(`SELECT * FROM visit_tasks WHERE station_id IN (${list(where.stationIds)}) AND done_at IS NULL ORDER BY due_at, id`, where.stationIds);
    return rows.map(toTask);
  }

  /** Tasks at these stations made in [from, to), done or not. */
  async tasksInPeriod(stationIds: string[], from: number, to: number): Promise<VisitTask[]> {
    return (await this.#sql.all<TaskRow>(`SELECT * FROM visit_tasks WHERE station_id IN (${list(stationIds)}) AND created_at >= ? AND created_at < ? ORDER BY created_at`, [...stationIds, from, to])).map(toTask);
  }

  async closeTask(id: string, at: number, visitId: string): Promise<void> {
    await this.#sql.run('UPDATE visit_tasks SET done_at = ?, done_by = ? WHERE id = ? AND done_at IS NULL', [at, visitId, id]);
  }

  async insert(v: Visit): Promise<void> {
    await this.#sql.run(
      'INSERT INTO visits (id, resident_id, station_id, kind, at, visited_by, outcome, observations, note, created_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)',
      [v.id, v.residentId, v.stationId, v.kind, v.at, v.by, v.outcome, v.observations, v.note, v.createdAt],
    );
  }

  /** A resident's visits, the latest first. */
  async forResident(residentId: string, limit = 100): Promise<Visit[]> {
    return (await this.#sql.all<Row>('SELECT * FROM visits WHERE resident_id = ? ORDER BY at DESC, id DESC LIMIT ?', [residentId, limit])).map(toVisit);
  }

  /** Visits made at these stations in [from, to), oldest first; `by` narrows them to one visitor (role:username). */
  async inPeriod(stationIds: string[], from: number, to: number, by?: string): Promise<Visit[]> {
    const who = by === undefined ? '' : ' AND visited_by = ?';
    return (await this.#sql.all<Row>(`SELECT * FROM visits WHERE station_id IN (${list(stationIds)}) AND at >= ? AND at < ?${who} ORDER BY at`, [...stationIds, from, to, ...(by === undefined ? [] : [by])])).map(toVisit);
  }

  /** Per resident of these stations, when each kind of visit last reached them (a visit nobody answered does not count). */
  async latestReached(stationIds: string[]): Promise<Map<string, Partial<Record<VisitKind, number>>>> {
    const rows = await this.#sql.all<{ resident_id: string; kind: VisitKind; at: number }>(
      `SELECT resident_id, kind, max(at) AS at FROM visits WHERE station_id IN (${list(stationIds)}) AND outcome != 'not_reached' GROUP BY resident_id, kind`,
      stationIds,
    );
    const out = new Map<string, Partial<Record<VisitKind, number>>>();
    for (const r of rows) out.set(r.resident_id, { ...out.get(r.resident_id), [r.kind]: Number(r.at) });
    return out;
  }
}

const DAY = 86_400_000;

/** A home visit also does for a phone greeting; a phone call does not do for a home visit. */
const satisfies = (visit: VisitKind, planned: VisitKind): boolean => visit === planned || (visit === 'home' && planned === 'phone');

/** When a visit that does for `kind` last reached the resident. */
function lastFor(last: Partial<Record<VisitKind, number>>, kind: VisitKind): number | null {
  const times = visitKinds.filter((k) => satisfies(k, kind)).flatMap((k) => (last[k] === undefined ? [] : [last[k]]));
  return times.length > 0 ? Math.max(...times) : null;
}

export interface DueVisit {
  residentId: string;
  name: string;
  address: string;
  /** Their own phone, for a phone greeting; null when not known. */
  phone: string | null;
  stationId: string;
  categories: CareCategory[];
  kind: VisitKind;
  /** From the plan: every so many days; null for a task (`task`). */
  everyDays: number | null;
  /** A visit asked for beyond the plan (a wellbeing check, a follow-up). */
  task?: { id: string; reason: VisitTaskReason; sourceId: string | null };
  /** When it fell (or falls) due: the last visit that reached them, or their enrolment, plus the plan's days; a task's own date. */
  dueAt: number;
  overdue: boolean;
  lastVisitAt: number | null;
}

export interface VisitFigures {
  due: number;
  done: number;
  /** done / due; null when nothing was due. The policies' target is 100 %. */
  rate: number | null;
  target: 1;
}

export interface VisitStatistics extends VisitFigures {
  /** Residents with a visit plan: the at-risk elders the rate is about. */
  residents: number;
  /** Visits asked for beyond the plan in the period (wellbeing checks, follow-ups), by reason, and how many were done. */
  tasks: { opened: number; done: number; byReason: Partial<Record<VisitTaskReason, number>> };
  byCategory: Partial<Record<CareCategory, VisitFigures>>;
  byKind: Partial<Record<VisitKind, VisitFigures>>;
}

export interface VisitInput {
  kind: VisitKind;
  at?: number | undefined;
  outcome: VisitOutcome;
  observations?: string | null | undefined;
  note?: string | null | undefined;
}

/**
 * Visits to those at risk (探访关爱): each resident's plan from their
 * categories (or their own), visits recorded, what is due or overdue, and the
 * visit rate the policies ask stations to report (100 % a month).
 */
export interface VisitDeps {
  visits: VisitRepository;
  residents: ResidentRepository;
  stations: StationRepository;
  clock: Clock;
  /** Runs work in one transaction (store/unit-of-work.ts): a visit and the tasks it does or opens. */
  transaction: <T>(fn: (tx: Tx) => Promise<T>) => Promise<T>;
}

/** When a task from a visit falls due: a phone greeting nobody answered calls for a home visit within a day; a follow-up within three. */
const TASK_DUE_DAYS: Record<Exclude<VisitTaskReason, 'no_activity'>, number> = { phone_not_reached: 1, needs_follow_up: 3 };

export class VisitService {
  readonly #d: VisitDeps;
  constructor(deps: VisitDeps) {
    this.#d = deps;
  }

  /**
   * A wellbeing check from the rules (no activity): a home visit today, for
   * someone to see the resident, besides the alarm. One open task per reason.
   */
  async wellbeingCheck(residentId: string, sourceId: string | null): Promise<VisitTask | undefined> {
    const resident = this.#d.residents.get(residentId);
    if (!resident || resident.deactivatedAt !== null) return undefined;
    return this.#d.transaction((tx) => this.#openTask(this.#d.visits.in(tx), resident, 'home', 'no_activity', sourceId, this.#d.clock.now()));
  }

  async #openTask(repo: VisitRepository, resident: Resident, kind: VisitKind, reason: VisitTaskReason, sourceId: string | null, dueAt: number): Promise<VisitTask | undefined> {
    if ((await repo.openTasks({ residentId: resident.id })).some((t) => t.reason === reason)) return undefined;
    const task: VisitTask = { id: newId('vtk'), residentId: resident.id, stationId: resident.stationId, kind, reason, sourceId, createdAt: this.#d.clock.now(), dueAt, doneAt: null, doneBy: null };
    await repo.insertTask(task);
    return task;
  }

  forResident(residentId: string, limit?: number): Promise<Visit[]> {
    return this.#d.visits.forResident(residentId, limit);
  }

  /** Visits recorded at these stations in [from, to), by anyone or by one visitor (role:username): a visitor's day, a station's month. */
  recorded(stationIds: string[], from: number, to: number, by?: string): Promise<Visit[]> {
    return this.#d.visits.inPeriod(stationIds, from, to, by);
  }

  /** The plan that applies to a resident now. */
  planOf(resident: Pick<Resident, 'categories' | 'visitPlan' | 'stationId'>): VisitPlanItem[] {
    return visitPlanFor(resident, this.#d.stations.visitPlans(resident.stationId));
  }

  /** The residents of these stations, each with their plan (a station's plans read once). */
  #planned(stationIds: string[]): Array<{ resident: Resident; plan: VisitPlanItem[] }> {
    const stations = new Set(stationIds);
    const plans = new Map<string, StationVisitPlans>();
    const out: Array<{ resident: Resident; plan: VisitPlanItem[] }> = [];
    for (const resident of this.#d.residents.list()) {
      if (!stations.has(resident.stationId)) continue;
      let station = plans.get(resident.stationId);
      if (!station) plans.set(resident.stationId, (station = this.#d.stations.visitPlans(resident.stationId)));
      const plan = visitPlanFor(resident, station);
      if (plan.length > 0) out.push({ resident, plan });
    }
    return out;
  }

  async record(residentId: string, input: VisitInput, by: string): Promise<Visit> {
    const resident = this.#d.residents.get(residentId);
    if (!resident) throw notFound('resident', residentId);
    if (resident.deactivatedAt !== null) throw conflict(`resident ${residentId} left the programme`);
    const now = this.#d.clock.now();
    const at = input.at ?? now;
    if (at > now + 60_000) throw invalid('at', 'a visit is recorded once made, not in advance');
    const visit: Visit = { id: newId('vis'), residentId, stationId: resident.stationId, kind: input.kind, at, by, outcome: input.outcome, observations: input.observations ?? null, note: input.note ?? null, createdAt: now };
    await this.#d.transaction(async (tx) => {
      const repo = this.#d.visits.in(tx);
      await repo.insert(visit);
      // A visit that reached them does the open tasks its kind does (asked for before it was made).
      if (visit.outcome !== 'not_reached') {
        for (const task of await repo.openTasks({ residentId })) if (satisfies(visit.kind, task.kind) && task.createdAt <= visit.at + 60_000) await repo.closeTask(task.id, now, visit.id);
      }
      // Nobody answered the phone, or something needs following up: a home visit.
      const reason = visit.outcome === 'not_reached' ? (visit.kind === 'phone' ? 'phone_not_reached' : null) : visit.outcome === 'needs_follow_up' ? 'needs_follow_up' : null;
      if (reason) await this.#openTask(repo, resident, 'home', reason, visit.id, visit.at + TASK_DUE_DAYS[reason] * DAY);
    });
    return visit;
  }

  /** Residents of these stations with a visit due within `withinDays` days, or overdue; the most overdue first. */
  async due(stationIds: string[], withinDays = 1): Promise<DueVisit[]> {
    const now = this.#d.clock.now();
    const latest = await this.#d.visits.latestReached(stationIds);
    const out: DueVisit[] = [];
    for (const { resident: r, plan } of this.#planned(stationIds)) {
      if (r.deactivatedAt !== null) continue;
      const last = latest.get(r.id) ?? {};
      for (const item of plan) {
        const lastVisitAt = lastFor(last, item.kind);
        const dueAt = (lastVisitAt ?? r.createdAt) + item.everyDays * DAY;
        if (dueAt > now + withinDays * DAY) continue;
        out.push({ residentId: r.id, name: r.name, address: r.address, phone: r.phone, stationId: r.stationId, categories: r.categories, kind: item.kind, everyDays: item.everyDays, dueAt, overdue: dueAt < now, lastVisitAt });
      }
    }
    // Tasks beyond the plan, whoever they are for (a wellbeing check is for anyone).
    for (const task of await this.#d.visits.openTasks({ stationIds })) {
      const r = this.#d.residents.get(task.residentId);
      if (!r || r.deactivatedAt !== null || task.dueAt > now + withinDays * DAY) continue;
      const last = latest.get(r.id) ?? {};
      out.push({
        residentId: r.id,
        name: r.name,
        address: r.address,
        phone: r.phone,
        stationId: r.stationId,
        categories: r.categories,
        kind: task.kind,
        everyDays: null,
        task: { id: task.id, reason: task.reason, sourceId: task.sourceId },
        dueAt: task.dueAt,
        overdue: task.dueAt < now,
        lastVisitAt: lastFor(last, task.kind),
      });
    }
    return out.sort((a, b) => a.dueAt - b.dueAt);
  }

  /**
   * The visit rate over [from, to): for each resident with a plan, each kind
   * of visit was due once per its days (of the time they were in the
   * programme); done counts the visits that reached them, up to what was due.
   */
  async statistics(stationIds: string[], from: number, to: number): Promise<VisitStatistics> {
    const visits = await this.#d.visits.inPeriod(stationIds, from, to);
    const byResident = new Map<string, Visit[]>();
    for (const v of visits) if (v.outcome !== 'not_reached') byResident.set(v.residentId, [...(byResident.get(v.residentId) ?? []), v]);
    const total = { due: 0, done: 0 };
    const byCategory = new Map<CareCategory, { due: number; done: number }>();
    const byKind = new Map<VisitKind, { due: number; done: number }>();
    const add = <K,>(map: Map<K, { due: number; done: number }>, key: K, due: number, done: number) => {
      const f = map.get(key) ?? { due: 0, done: 0 };
      f.due += due;
      f.done += done;
      map.set(key, f);
    };
    let residents = 0;
    for (const { resident: r, plan } of this.#planned(stationIds)) {
      const start = Math.max(from, r.createdAt);
      const end = Math.min(to, r.deactivatedAt ?? to);
      if (end <= start) continue;
      residents++;
      for (const item of plan) {
        const due = Math.floor((end - start) / (item.everyDays * DAY));
        if (due === 0) continue;
        const done = Math.min(due, (byResident.get(r.id) ?? []).filter((v) => satisfies(v.kind, item.kind)).length);
        add(byKind, item.kind, due, done);
        for (const c of r.categories) add(byCategory, c, due, done);
        total.due += due;
        total.done += done;
      }
    }
    const figures = (f: { due: number; done: number }): VisitFigures => ({ due: f.due, done: f.done, rate: f.due === 0 ? null : Math.round((f.done / f.due) * 10_000) / 10_000, target: 1 });
    const tasks = await this.#d.visits.tasksInPeriod(stationIds, from, to);
    const byReason: Partial<Record<VisitTaskReason, number>> = {};
    for (const t of tasks) byReason[t.reason] = (byReason[t.reason] ?? 0) + 1;
    return {
      ...figures(total),
      residents,
      tasks: { opened: tasks.length, done: tasks.filter((t) => t.doneAt !== null).length, byReason },
      byCategory: Object.fromEntries(careCategories.filter((c) => byCategory.has(c)).map((c) => [c, figures(byCategory.get(c)!)])),
      byKind: Object.fromEntries([...byKind].map(([k, f]) => [k, figures(f)])),
    };
  }
}
