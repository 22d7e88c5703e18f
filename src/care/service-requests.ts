import { conflict, invalid, notFound } from '../core/errors.ts';
import type { Clock } from '../core/clock.ts';
import type { EventBus } from '../core/event-bus.ts';
import { newId } from '../core/ids.ts';
import type { DeviceEvent } from '../core/model.ts';
import { openServiceStates, SERVICE_PRESS_MERGE_MS, serviceKinds, serviceTransitions, type ServiceKind, type ServiceRequest, type ServiceSource, type ServiceState, type ServiceStep, type Stamp } from '../core/service-request.ts';
import type { SqlClient } from '../store/sql-client.ts';
import { sqlOf, type Tx } from '../store/unit-of-work.ts';
import type { ResidentRepository } from '../store/residents.ts';

interface Row {
  id: string;
  resident_id: string;
  station_id: string;
  kind: ServiceKind;
  note: string | null;
  source: ServiceSource;
  device_id: string | null;
  presses: number;
  state: ServiceState;
  provider_id: string | null;
  worker: string | null;
  created_at: number;
  created_by: string;
  assigned_at: number | null;
  assigned_by: string | null;
  started_at: number | null;
  started_by: string | null;
  arrived_at: number | null;
  arrived_by: string | null;
  done_at: number | null;
  done_by: string | null;
  cancelled_at: number | null;
  cancelled_by: string | null;
  cancel_reason: string | null;
  updated_at: number;
}

const stamp = (at: number | null, by: string | null): Stamp | null => (at === null || by === null ? null : { at: Number(at), by });

const toRequest = (r: Row): ServiceRequest => ({
  id: r.id,
  residentId: r.resident_id,
  stationId: r.station_id,
  kind: r.kind,
  note: r.note,
  source: r.source,
  deviceId: r.device_id,
  presses: Number(r.presses),
  state: r.state,
  providerId: r.provider_id,
  worker: r.worker,
  created: { at: Number(r.created_at), by: r.created_by },
  assigned: stamp(r.assigned_at, r.assigned_by),
  started: stamp(r.started_at, r.started_by),
  arrived: stamp(r.arrived_at, r.arrived_by),
  done: stamp(r.done_at, r.done_by),
  cancelled: r.cancelled_at === null || r.cancelled_by === null ? null : { at: Number(r.cancelled_at), by: r.cancelled_by, reason: r.cancel_reason },
  updatedAt: Number(r.updated_at),
});

const marks = (n: number) => Array.from({ length: n }, () => '?').join(',') || 'NULL';

export interface ServiceRequestQuery {
  /** Limit to these stations (undefined: any). */
  stationIds?: string[] | undefined;
  residentId?: string | undefined;
  providerId?: string | undefined;
  states?: readonly ServiceState[] | undefined;
  /** Created in [from, to). */
  from?: number | undefined;
  to?: number | undefined;
  limit?: number | undefined;
}

/** Service requests on any backend (store/sql-client.ts): portable SQL; `in(tx)` inside a transaction. */
export class ServiceRequestRepository {
  readonly #sql: SqlClient;
  constructor(sql: SqlClient) {
    this.#sql = sql;
  }

  in(tx: Tx): ServiceRequestRepository {
    return new ServiceRequestRepository(sqlOf(tx));
  }

  async insert(r: ServiceRequest): Promise<void> {
    await this.#sql.run(
      'INSERT INTO service_requests (id, resident_id, station_id, kind, note, source, device_id, presses, state, provider_id, worker, created_at, created_by, updated_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)',
      [r.id, r.residentId, r.stationId, r.kind, r.note, r.source, r.deviceId, r.presses, r.state, r.providerId, r.worker, r.created.at, r.created.by, r.updatedAt],
    );
  }

  async get(id: string): Promise<ServiceRequest | undefined> {
    const row = await this.#sql.get<Row>('SELECT * FROM service_requests WHERE id = ?', [id]);
    return row && toRequest(row);
  }

  async list(q: ServiceRequestQuery): Promise<ServiceRequest[]> {
    const where: string[] = [];
    const params: unknown[] = [];
    if (q.stationIds) {
      where.push(`station_id IN (${marks(q.stationIds.length)})`);
      params.push(...q.stationIds);
    }
    if (q.residentId !== undefined) where.push('resident_id = ?'), params.push(q.residentId);
    if (q.providerId !== undefined) where.push('provider_id = ?'), params.push(q.providerId);
    if (q.states) {
      where.push(`state IN (${marks(q.states.length)})`);
      params.push(...q.states);
    }
    if (q.from !== undefined) where.push('created_at >= ?'), params.push(q.from);
    if (q.to !== undefined) where.push('created_at < ?'), params.push(q.to);
    const sql = `SELECT * FROM service_requests${where.length ? ` WHERE ${where.join(' AND ')}` : ''} ORDER BY created_at DESC, id DESC LIMIT ?`;
    return (await this.#sql.all<Row>(sql, [...params, q.limit ?? 500])).map(toRequest);
  }

  /** The device's latest request still new since `since`: a second press of its button joins it. */
  async pendingFromDevice(deviceId: string, since: number): Promise<ServiceRequest | undefined> {
    const row = await this.#sql.get<Row>("SELECT * FROM service_requests WHERE device_id = ? AND state = 'new' AND created_at >= ? ORDER BY created_at DESC LIMIT 1", [deviceId, since]);
    return row && toRequest(row);
  }

  async pressedAgain(id: string, now: number): Promise<void> {
    await this.#sql.run('UPDATE service_requests SET presses = presses + 1, updated_at = ? WHERE id = ?', [now, id]);
  }

  /**
   * Takes a step if the request is still in a state it may start from; false
   * when it is not (somebody else moved it first). One statement: two people
   * pressing at once cannot both succeed.
   */
  async step(id: string, step: ServiceStep, by: string, at: number, set: { providerId?: string | null; worker?: string | null; kind?: ServiceKind; note?: string | null; reason?: string | null } = {}): Promise<boolean> {
    const t = serviceTransitions[step];
    // A hand-over (or a provider naming its worker) keeps the first dispatch's stamp: the time to dispatch is the first one.
    const cols = step === 'assign' ? ['state = ?', 'assigned_at = COALESCE(assigned_at, ?)', 'assigned_by = COALESCE(assigned_by, ?)', 'updated_at = ?'] : ['state = ?', `${t.stamp}_at = ?`, `${t.stamp}_by = ?`, 'updated_at = ?'];
    const params: unknown[] = [t.to, at, by, at];
    if (set.providerId !== undefined) cols.push('provider_id = ?'), params.push(set.providerId);
    if (set.worker !== undefined) cols.push('worker = ?'), params.push(set.worker);
    if (set.kind !== undefined) cols.push('kind = ?'), params.push(set.kind);
    if (set.note !== undefined) cols.push('note = ?'), params.push(set.note);
    if (step === 'cancel') cols.push('cancel_reason = ?'), params.push(set.reason ?? null);
    const { changes } = await this.#sql.run(`UPDATE service_requests SET ${cols.join(', ')} WHERE id = ? AND state IN (${marks(t.from.length)})`, [...params, id, ...t.from]);
    return changes === 1;
  }
}

/** A new request for a resident, at their station, not dispatched yet. */
const newRequest = (resident: { id: string; stationId: string }, what: Pick<ServiceRequest, 'kind' | 'note' | 'source' | 'deviceId'>, created: Stamp): ServiceRequest => ({
  id: newId('srq'),
  residentId: resident.id,
  stationId: resident.stationId,
  ...what,
  presses: 1,
  state: 'new',
  providerId: null,
  worker: null,
  created,
  assigned: null,
  started: null,
  arrived: null,
  done: null,
  cancelled: null,
  updatedAt: created.at,
});

export interface NewServiceRequest {
  residentId: string;
  kind: ServiceKind;
  note?: string | null | undefined;
  source: Exclude<ServiceSource, 'device'>;
}

export interface ServiceRequestDeps {
  requests: ServiceRequestRepository;
  residents: ResidentRepository;
  providers: { get(id: string): { id: string; name: string } | undefined };
  clock: Clock;
  /** Told of each change once it is committed (a button press: after ingest's transaction). */
  bus: EventBus;
}

/**
 * Service requests (需求实时响应, 服务找人): a need from the service button,
 * the family or staff on the phone, dispatched to a provider or a named worker
 * and tracked to done. Never an alarm: nothing escalates, it is worked.
 */
export class ServiceRequestService {
  readonly #d: ServiceRequestDeps;
  constructor(deps: ServiceRequestDeps) {
    this.#d = deps;
  }

  get(id: string): Promise<ServiceRequest | undefined> {
    return this.#d.requests.get(id);
  }

  list(q: ServiceRequestQuery): Promise<ServiceRequest[]> {
    return this.#d.requests.list(q);
  }

  #emit(change: 'created' | 'pressed_again' | ServiceStep, request: ServiceRequest): void {
    this.#d.bus.emit('service.request', { request, change });
  }

  /** Staff on the phone or the family page. */
  async create(input: NewServiceRequest, by: string): Promise<ServiceRequest> {
    const resident = this.#d.residents.get(input.residentId);
    if (!resident) throw notFound('resident', input.residentId);
    if (resident.deactivatedAt !== null) throw conflict(`resident ${input.residentId} left the programme`);
    const request = newRequest(resident, { kind: input.kind, note: input.note ?? null, source: input.source, deviceId: null }, { at: this.#d.clock.now(), by });
    await this.#d.requests.insert(request);
    this.#emit('created', request);
    return request;
  }

  /**
   * A press of a device's service button, inside ingest's transaction (the
   * request commits with the event, or neither does). The kind is not known
   * yet: the station calls back and sets it when dispatching.
   */
  async fromDevice(device: { id: string; residentId: string | null }, event: DeviceEvent, tx: Tx): Promise<void> {
    if (event.type !== 'service' || device.residentId === null) return;
    const resident = this.#d.residents.get(device.residentId);
    if (!resident || resident.deactivatedAt !== null) return;
    const now = this.#d.clock.now();
    const repo = this.#d.requests.in(tx);
    const pending = await repo.pendingFromDevice(device.id, now - SERVICE_PRESS_MERGE_MS);
    if (pending) {
      await repo.pressedAgain(pending.id, now);
      return tx.afterCommit(() => this.#emit('pressed_again', { ...pending, presses: pending.presses + 1, updatedAt: now }));
    }
    const request = newRequest(resident, { kind: 'other', note: null, source: 'device', deviceId: device.id }, { at: now, by: `device:${device.id}` });
    await repo.insert(request);
    tx.afterCommit(() => this.#emit('created', request));
  }

  /** Dispatches to a provider, a named worker, or both; again to hand it over before anyone set off. */
  async assign(id: string, by: string, to: { providerId?: string | null | undefined; worker?: string | null | undefined; kind?: ServiceKind | undefined; note?: string | null | undefined }): Promise<ServiceRequest> {
    if (!to.providerId && !to.worker) throw invalid('providerId', 'dispatch to a provider, a named worker, or both');
    if (to.providerId && !this.#d.providers.get(to.providerId)) throw invalid('providerId', `no provider ${to.providerId}`);
    return this.#step(id, 'assign', by, {
      providerId: to.providerId ?? null,
      worker: to.worker ?? null,
      ...(to.kind ? { kind: to.kind } : {}),
      ...(to.note !== undefined ? { note: to.note } : {}),
    });
  }

  /** start (on the way), arrive (on site), done, cancel. */
  async advance(id: string, step: Exclude<ServiceStep, 'assign'>, by: string, reason?: string | null): Promise<ServiceRequest> {
    return this.#step(id, step, by, step === 'cancel' ? { reason: reason ?? null } : {});
  }

  async #step(id: string, step: ServiceStep, by: string, set: Parameters<ServiceRequestRepository['step']>[4]): Promise<ServiceRequest> {
    // One conditional statement: committed on its own, then read back for the answer and the live stream.
    const moved = await this.#d.requests.step(id, step, by, this.#d.clock.now(), set);
    const request = await this.#d.requests.get(id);
    if (!request) throw notFound('service request', id);
    if (moved) this.#emit(step, request);
    else throw conflict(`service request ${id} is ${request.state.replaceAll('_', ' ')}: it cannot ${step} (from ${serviceTransitions[step].from.join(', ')})`);
    return request;
  }
}

export interface ServiceKindFigures {
  count: number;
  done: number;
  cancelled: number;
  open: number;
  /** Medians in seconds from the request: to dispatch, to someone on site, to done (null when none). */
  medianToAssignSeconds: number | null;
  medianToOnSiteSeconds: number | null;
  medianToDoneSeconds: number | null;
}

export interface ServiceRequestStatistics extends ServiceKindFigures {
  byKind: Partial<Record<ServiceKind, ServiceKindFigures>>;
  bySource: Partial<Record<ServiceSource, number>>;
}

const median = (xs: number[]): number | null => {
  if (xs.length === 0) return null;
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return Math.round(s.length % 2 ? s[m]! : (s[m - 1]! + s[m]!) / 2);
};

function figures(rs: ServiceRequest[]): ServiceKindFigures {
  const secs = (pick: (r: ServiceRequest) => Stamp | null) => rs.flatMap((r) => (pick(r) ? [(pick(r)!.at - r.created.at) / 1000] : []));
  return {
    count: rs.length,
    done: rs.filter((r) => r.state === 'done').length,
    cancelled: rs.filter((r) => r.state === 'cancelled').length,
    open: rs.filter((r) => openServiceStates.includes(r.state)).length,
    medianToAssignSeconds: median(secs((r) => r.assigned)),
    medianToOnSiteSeconds: median(secs((r) => r.arrived)),
    medianToDoneSeconds: median(secs((r) => r.done)),
  };
}

/** Requests made in a period, by kind and source, with their times. */
export function serviceRequestStatistics(requests: ServiceRequest[]): ServiceRequestStatistics {
  const bySource: Partial<Record<ServiceSource, number>> = {};
  for (const r of requests) bySource[r.source] = (bySource[r.source] ?? 0) + 1;
  return {
    ...figures(requests),
    byKind: Object.fromEntries(serviceKinds.flatMap((k) => {
      const of = requests.filter((r) => r.kind === k);
      return of.length ? [[k, figures(of)]] : [];
    })),
    bySource,
  };
}
