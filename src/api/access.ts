import type { FastifyReply, FastifyRequest } from 'fastify';
import { forbidden, notFound } from '../core/errors.ts';
import type { DeviceRecord } from '../store/devices.ts';
import type { Resident, ResidentRepository } from '../store/residents.ts';
import type { StationRepository } from '../store/stations.ts';
import type { Role } from '../store/users.ts';

/** Who is calling: an account, or a token for automation (admin). */
export interface Principal {
  role: Role;
  via: 'admin_token' | 'api_token' | 'login';
  /** Recorded as the actor on alarm timelines: the username, or the token's label. */
  label: string;
  userId: string | null;
  stationId: string | null;
  providerId: string | null;
  residentId: string | null;
}

declare module 'fastify' {
  interface FastifyRequest {
    principal?: Principal;
    access?: Access;
    /** The bearer token the request was authenticated with (logout revokes it). */
    bearerToken?: string;
    /** When that token stops being valid (a login's); null for tokens that do not expire. */
    tokenExpiresAt?: number | null;
  }
  interface FastifyContextConfig {
    /** No bearer token needed (login). */
    public?: boolean;
  }
}

export interface AccessDeps {
  stations: StationRepository;
  residents: ResidentRepository;
  /** The devices in service, in memory (devices/directory.ts). */
  directory: { get(id: string): Pick<DeviceRecord, 'residentId' | 'stationId' | 'providerId'> | undefined };
}

type Placed = { stationId: string | null; residentId: string | null };

/**
 * What one caller may see. Roles (ARCHITECTURE.md): admin sees everything;
 * operator its station and every station below it; provider the residents it
 * serves and the devices it installed; family its one resident; visitor (a
 * community worker or volunteer) the residents of its station and below, for
 * visits only (VISITOR_ROUTES). Anything out of scope is reported as not
 * found, never as forbidden, so ids do not leak.
 */
export class Access {
  readonly principal: Principal;
  readonly #d: AccessDeps;
  #stations: Set<string> | undefined;

  constructor(principal: Principal, deps: AccessDeps) {
    this.principal = principal;
    this.#d = deps;
  }

  get role(): Role {
    return this.principal.role;
  }

  /** The operator's or visitor's stations (its own and below); undefined when not limited by station. */
  stationIds(): string[] | undefined {
    if (this.role !== 'operator' && this.role !== 'visitor') return undefined;
    return [...this.#operatorStations()];
  }

  #operatorStations(): Set<string> {
    return (this.#stations ??= new Set(this.#d.stations.subtree(this.principal.stationId!)));
  }

  station(id: string): boolean {
    switch (this.role) {
      case 'admin':
      case 'provider': // providers place residents in any station: the organisation tree is shared
        return true;
      case 'operator':
      case 'visitor':
        return this.#operatorStations().has(id);
      case 'family':
        return this.#d.residents.get(this.principal.residentId!)?.stationId === id;
    }
  }

  resident(r: Pick<Resident, 'id' | 'stationId' | 'providerId'>): boolean {
    switch (this.role) {
      case 'admin':
        return true;
      case 'operator':
      case 'visitor':
        return this.#operatorStations().has(r.stationId);
      case 'provider':
        return r.providerId === this.principal.providerId;
      case 'family':
        return r.id === this.principal.residentId;
    }
  }

  residentId(id: string | null): boolean {
    if (id === null) return false;
    if (this.role === 'family') return id === this.principal.residentId;
    const r = this.#d.residents.get(id);
    return r !== undefined && this.resident(r);
  }

  device(d: Pick<DeviceRecord, 'residentId' | 'stationId' | 'providerId'>): boolean {
    switch (this.role) {
      case 'admin':
        return true;
      case 'operator': {
        const stationId = d.stationId ?? (d.residentId ? this.#d.residents.get(d.residentId)?.stationId : undefined);
        return stationId !== undefined && this.#operatorStations().has(stationId);
      }
      case 'provider':
        return d.providerId === this.principal.providerId || (d.providerId === null && this.residentId(d.residentId));
      case 'family':
        return d.residentId === this.principal.residentId;
      case 'visitor':
        return false;
    }
  }

  deviceId(id: string | null): boolean {
    if (id === null) return false;
    const d = this.#d.directory.get(id);
    return d !== undefined && this.device(d);
  }

  /** An alarm or a live event, by where it happened. */
  placed(a: Placed & { deviceId?: string | null }): boolean {
    switch (this.role) {
      case 'admin':
        return true;
      case 'operator':
        return a.stationId !== null && this.#operatorStations().has(a.stationId);
      case 'provider':
        return this.residentId(a.residentId) || this.deviceId(a.deviceId ?? null);
      case 'family':
        return a.residentId !== null && a.residentId === this.principal.residentId;
      case 'visitor':
        return false; // no alarms, no devices: visits only
    }
  }

  /** A provider acts for itself: its own providerId whatever was sent; naming another is refused. */
  providerFor(requested: string | null | undefined, what: string): string | null | undefined {
    if (this.role !== 'provider') return requested;
    if (requested && requested !== this.principal.providerId) throw forbidden(`a provider registers ${what} for itself only`);
    return this.principal.providerId;
  }

  /** Throws not_found unless `visible`: out of scope looks exactly like absent. */
  static must<T>(value: T | undefined, visible: (v: T) => boolean, what: string, id: string): T {
    if (value === undefined || !visible(value)) throw notFound(what, id);
    return value;
  }
}

/**
 * A visitor (community worker, volunteer) records visits and nothing else:
 * these routes, in the scope of its station. Every other route answers 403.
 */
export const VISITOR_ROUTES: ReadonlySet<string> = new Set([
  'GET /api/v1/auth/me',
  'POST /api/v1/auth/logout',
  'PUT /api/v1/auth/password',
  'GET /api/v1/visits/due',
  'GET /api/v1/visits',
  'GET /api/v1/residents/:id/visits',
  'POST /api/v1/residents/:id/visits',
]);

/** A route's roles: any other role gets 403 (it may know the route exists, not use it). */
export function roles(...allowed: Role[]) {
  const set = new Set<Role>(allowed);
  return async (req: FastifyRequest, _reply: FastifyReply): Promise<void> => {
    const role = req.principal?.role;
    if (!role || !set.has(role)) throw forbidden(`role ${role ?? 'none'} may not ${req.method} ${req.routeOptions.url}; allowed: ${allowed.join(', ')}`);
  };
}

export const access = (req: FastifyRequest): Access => req.access!;
