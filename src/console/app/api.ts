/** The API as the console uses it: the logged-in user's token on every request. */
export interface Session {
  token: string;
  user: User;
}
export interface User {
  id: string | null;
  username: string;
  role: 'admin' | 'operator' | 'provider' | 'family' | 'visitor';
  displayName: string | null;
  stationId: string | null;
  providerId: string | null;
  residentId: string | null;
}
export interface Alarm {
  id: string;
  type: string;
  severity: 'critical' | 'major' | 'minor' | 'info';
  state: 'open' | 'acknowledged' | 'resolved';
  residentId: string | null;
  deviceId: string | null;
  stationId: string | null;
  raisedAt: string;
  updatedAt: string;
  count: number;
  escalationLevel: number;
  acknowledgedAt: string | null;
  acknowledgedBy: string | null;
  resolvedAt: string | null;
  resolvedBy: string | null;
  outcome: string | null;
  assignedTo: string | null;
  /** What raised it: the event, or the values of a vitals alarm. */
  detail: Record<string, unknown> | null;
  /** Each contact's latest answer: going (with an ETA) or not. */
  responses: Array<{ name: string; relation: string | null; going: boolean; etaMinutes: number | null; at: string; recordedBy: string }>;
  onSiteAt: string | null;
  onSiteBy: string | null;
  /** Seconds after raising at which each ladder step fires. */
  ladder: number[];
}
export interface TimelineEntry {
  at: string;
  kind: string;
  actor: string;
  detail: Record<string, unknown> | null;
}
export interface AlarmDetail extends Alarm {
  timeline: TimelineEntry[];
  nextEscalation: { step: number; kind: string; dueAt: string } | null;
  /** The station's plan for this type of alarm, if it has one. */
  responsePlan: string | null;
  /** Display names of the people on the timeline, by username. */
  people?: Record<string, string>;
}
export interface Contact {
  name: string;
  relation: string;
  phone: string;
  priority: number;
}
export interface Resident {
  id: string;
  name: string;
  address: string;
  stationId: string;
  providerId: string | null;
  livesAlone: boolean;
  capabilityLevel: number;
  notes: string | null;
  contacts: Contact[];
  careRecord: CareRecord;
  birthDate?: string | null;
  age?: number | null;
  oldestOld?: boolean;
  categories?: string[];
  capabilityAssessedAt?: string | null;
  capabilityAssessmentDue?: string | null;
  phone?: string | null;
  active?: boolean;
}
export interface CareRecord {
  conditions?: string[];
  medications?: string[];
  allergies?: string[];
  mobility?: string;
  gp?: string;
  access?: { keySafe?: string; keyholder?: string; doorCode?: string; notes?: string };
  language?: string;
}
export interface Device {
  id: string;
  profile: string;
  residentId: string | null;
  stationId: string | null;
  providerId: string | null;
  online: boolean;
  lastSeen: string | null;
  battery: number | null;
  provisioned: boolean;
  decommissioned: boolean;
}
export interface Station {
  id: string;
  name: string;
  level: string;
  parentId: string | null;
}
export interface Provider {
  id: string;
  name: string;
}
type Stamp = { at: string; by: string };
/** A service request (需求响应) and each step's time and actor. */
export interface ServiceRequest {
  id: string;
  residentId: string;
  residentName?: string;
  stationId: string;
  kind: 'meals' | 'housekeeping' | 'home_nursing' | 'repair' | 'errand' | 'other';
  note: string | null;
  source: 'device' | 'family' | 'staff';
  deviceId: string | null;
  presses: number;
  state: 'new' | 'assigned' | 'on_the_way' | 'on_site' | 'done' | 'cancelled';
  providerId: string | null;
  providerName?: string;
  worker: string | null;
  created: Stamp;
  assigned: Stamp | null;
  started: Stamp | null;
  arrived: Stamp | null;
  done: Stamp | null;
  cancelled: (Stamp & { reason: string | null }) | null;
  updatedAt: string;
}
export interface DeadLetter {
  id: number;
  receivedAt: string;
  topic: string;
  code: string;
  reason: string;
  payloadText?: string | null;
}
export interface Series {
  deviceId?: string;
  kind: string;
  points: Array<{ t: number; mean: number; min: number; max: number; n: number }>;
}

export class ApiError extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
    /** The whole answer, for a refusal that carries more than its message (an import's report). */
    readonly body: unknown = null,
  ) {
    super(message);
  }
}

let token: string | null = null;
let onUnauthorized: () => void = () => {};

export function useToken(value: string | null, unauthorized: () => void): void {
  token = value;
  onUnauthorized = unauthorized;
}

/** `raw`: send `body` as it is with this content type (a CSV file's bytes) instead of as JSON. */
export async function api<T>(method: string, path: string, body?: unknown, raw?: { contentType: string }): Promise<T> {
  const headers: Record<string, string> = {};
  if (token) headers.authorization = `Bearer ${token}`;
  if (body !== undefined) headers['content-type'] = raw?.contentType ?? 'application/json';
  const payload = body === undefined ? {} : { body: raw ? (body as BodyInit) : JSON.stringify(body) };
  const res = await fetch(`/api/v1${path}`, { method, headers, ...payload });
  if (res.status === 204) return undefined as T;
  const data = (await res.json().catch(() => null)) as { error?: { code: string; message: string } } | null;
  if (!res.ok) {
    if (res.status === 401 && path !== '/auth/login') onUnauthorized();
    throw new ApiError(res.status, data?.error?.code ?? 'error', data?.error?.message ?? res.statusText, data);
  }
  return data as T;
}

export const login = (username: string, password: string) => api<{ token: string; expiresAt: string; user: User }>('POST', '/auth/login', { username, password });
