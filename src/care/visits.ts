import { conflict, invalid, notFound } from '../core/errors.ts';
import type { Clock } from '../core/clock.ts';
import { newId } from '../core/ids.ts';
import { careCategories, visitKinds, visitPlanFor, type CareCategory, type StationVisitPlans, type VisitKind, type VisitPlanItem } from '../core/care-profile.ts';
import type { SqlClient } from '../store/sql-client.ts';
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

/** Visits on any backend (store/sql-client.ts): portable SQL. */
export class VisitRepository {
  readonly #sql: SqlClient;
  constructor(sql: SqlClient) {
    this.#sql = sql;
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

  /** Visits made at these stations in [from, to). */
  async inPeriod(stationIds: string[], from: number, to: number): Promise<Visit[]> {
    return (await this.#sql.all<Row>(`SELECT * FROM visits WHERE station_id IN (${list(stationIds)}) AND at >= ? AND at < ? ORDER BY at`, [...stationIds, from, to])).map(toVisit);
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
  stationId: string;
  categories: CareCategory[];
  kind: VisitKind;
  everyDays: number;
  /** When it fell (or falls) due: the last visit that reached them, or their enrolment, plus the plan's days. */
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
export class VisitService {
  readonly #d: { visits: VisitRepository; residents: ResidentRepository; stations: StationRepository; clock: Clock };
  constructor(deps: { visits: VisitRepository; residents: ResidentRepository; stations: StationRepository; clock: Clock }) {
    this.#d = deps;
  }

  forResident(residentId: string, limit?: number): Promise<Visit[]> {
    return this.#d.visits.forResident(residentId, limit);
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
    await this.#d.visits.insert(visit);
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
        out.push({ residentId: r.id, name: r.name, address: r.address, stationId: r.stationId, categories: r.categories, kind: item.kind, everyDays: item.everyDays, dueAt, overdue: dueAt < now, lastVisitAt });
      }
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
    return {
      ...figures(total),
      residents,
      byCategory: Object.fromEntries(careCategories.filter((c) => byCategory.has(c)).map((c) => [c, figures(byCategory.get(c)!)])),
      byKind: Object.fromEntries([...byKind].map(([k, f]) => [k, figures(f)])),
    };
  }
}
