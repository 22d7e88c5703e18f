import type { ServiceRequest } from '../core/service-request.ts';
import type { Provider, User } from '../store/users.ts';
import type { KnownDevice } from '../devices/directory.ts';
import type { DeadLetter } from '../store/dead-letters.ts';
import type { DeviceRecord } from '../store/devices.ts';
import type { Resident } from '../store/residents.ts';
import type { Station } from '../store/stations.ts';
import type { Alarm, TimelineEntry } from '../core/alarm.ts';
import { policies } from '../escalation/policies.ts';
import { ageAt, nextAssessmentDue, OLDEST_OLD } from '../core/care-profile.ts';

const ladderOf = (policy: string): number[] => policies[policy]?.steps.map((s) => s.afterSeconds) ?? [0];

/** API representations: times as ISO 8601 strings, no secrets. */
export const iso = (t: number | null): string | null => (t === null ? null : new Date(t).toISOString());

export const stationView = (s: Station) => ({
  id: s.id,
  name: s.name,
  level: s.level,
  parentId: s.parentId,
  webhookUrl: s.webhookUrl,
  responsePlans: s.responsePlans,
  createdAt: iso(s.createdAt),
});

/** A resident as the API shows them; `now` for their age (the gateway's clock). */
export const residentView = (r: Resident, now = Date.now()) => {
  const age = r.birthDate ? ageAt(r.birthDate, now, r.timezone) : null;
  return {
    id: r.id,
    name: r.name,
    address: r.address,
    phone: r.phone,
    stationId: r.stationId,
    providerId: r.providerId,
    livesAlone: r.livesAlone,
    capabilityLevel: r.capabilityLevel,
    timezone: r.timezone,
    notes: r.notes,
    settings: r.settings,
    careRecord: r.careRecord,
    contacts: r.contacts,
    createdAt: iso(r.createdAt),
    active: r.deactivatedAt === null,
    deactivatedAt: iso(r.deactivatedAt),
    deactivation: r.deactivation,
    birthDate: r.birthDate,
    age,
    /** 80 and over (老老人): precise profiles and yearly assessment. */
    oldestOld: age !== null && age >= OLDEST_OLD,
    categories: r.categories,
    capabilityAssessedAt: r.capabilityAssessedAt,
    capabilityAssessmentDue: nextAssessmentDue(r.capabilityAssessedAt, age),
    visitPlan: r.visitPlan,
  };
};

/**
 * A device as the API shows it. `shared`: several nodes on one database, where
 * a device connected to another node is offline in this node's memory; the
 * database, written each second by the node that holds it, says more.
 */
export const deviceView = (record: DeviceRecord, live: KnownDevice | undefined, shared = false) => {
  if (shared && live && !live.online) {
    const newer = (record.lastSeen ?? 0) > (live.lastSeen ?? 0);
    live = { ...live, online: record.online, ...(newer ? { lastSeen: record.lastSeen, battery: record.battery ?? live.battery } : {}) };
  }
  const firstMessageAt = live?.firstMessageAt ?? record.firstMessageAt;
  return {
    id: record.id,
    profile: record.profileId,
    residentId: record.residentId,
    stationId: live?.stationId ?? record.stationId,
    providerId: record.providerId,
    online: live?.online ?? false,
    lastSeen: iso(live?.lastSeen ?? record.lastSeen),
    battery: live?.battery ?? record.battery,
    provisioned: firstMessageAt !== null,
    firstMessageAt: iso(firstMessageAt),
    decommissioned: record.decommissionedAt !== null,
    createdAt: iso(record.createdAt),
  };
};

const printable = (b: Buffer): string | null => {
  const text = b.toString('utf8');
  // eslint-disable-next-line no-control-regex
  return /^[^\u0000-\u0008\u000e-\u001f\ufffd]*$/.test(text) ? text : null;
};

export const deadLetterView = (d: DeadLetter) => ({
  id: d.id,
  receivedAt: iso(d.receivedAt),
  deviceId: d.deviceId,
  topic: d.topic,
  code: d.code,
  reason: d.reason,
  partial: d.partial,
  payloadSize: d.payloadSize,
  payloadTruncated: d.payload.length < d.payloadSize,
  payloadBase64: d.payload.toString('base64'),
  payloadText: printable(d.payload),
});

export const alarmView = (a: Alarm) => ({
  id: a.id,
  type: a.type,
  severity: a.severity,
  state: a.state,
  residentId: a.residentId,
  deviceId: a.deviceId,
  stationId: a.stationId,
  raisedAt: iso(a.raisedAt),
  updatedAt: iso(a.updatedAt),
  count: a.count,
  escalationLevel: a.escalationLevel,
  policy: a.policy,
  detail: a.detail,
  acknowledgedAt: iso(a.acknowledgedAt),
  acknowledgedBy: a.acknowledgedBy,
  resolvedAt: iso(a.resolvedAt),
  resolvedBy: a.resolvedBy,
  outcome: a.outcome,
  assignedTo: a.assignedTo,
  responses: a.responses.map((r) => ({ ...r, at: iso(r.at) })),
  /** Seconds after raising at which each step of its ladder fires (the console colours a row by them). */
  ladder: ladderOf(a.policy),
  onSiteAt: iso(a.onSiteAt),
  onSiteBy: a.onSiteBy,
});

export const timelineView = (t: TimelineEntry) => ({ at: iso(t.at), kind: t.kind, actor: t.actor, detail: t.detail });

export const userView = (u: User) => ({
  id: u.id,
  username: u.username,
  role: u.role,
  displayName: u.displayName,
  stationId: u.stationId,
  providerId: u.providerId,
  residentId: u.residentId,
  relation: u.relation,
  createdAt: iso(u.createdAt),
  disabled: u.disabledAt !== null,
});

export const providerView = (p: Provider) => ({ id: p.id, name: p.name, webhookUrl: p.webhookUrl, createdAt: iso(p.createdAt) });

const stampView = (s: { at: number; by: string } | null) => (s === null ? null : { at: iso(s.at), by: s.by });

export const serviceRequestView = (r: ServiceRequest, names?: { resident?: string | undefined; provider?: string | undefined }) => ({
  id: r.id,
  residentId: r.residentId,
  ...(names?.resident !== undefined ? { residentName: names.resident } : {}),
  stationId: r.stationId,
  kind: r.kind,
  note: r.note,
  source: r.source,
  deviceId: r.deviceId,
  presses: r.presses,
  state: r.state,
  providerId: r.providerId,
  ...(names?.provider !== undefined ? { providerName: names.provider } : {}),
  worker: r.worker,
  created: stampView(r.created),
  assigned: stampView(r.assigned),
  started: stampView(r.started),
  arrived: stampView(r.arrived),
  done: stampView(r.done),
  cancelled: r.cancelled === null ? null : { at: iso(r.cancelled.at), by: r.cancelled.by, reason: r.cancelled.reason },
  updatedAt: iso(r.updatedAt),
});
