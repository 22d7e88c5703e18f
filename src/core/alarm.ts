import { z } from 'zod';

/** The alarm vocabulary fixed by the architecture: severities, states, outcomes, and the allowed transitions. */
export const severities = ['critical', 'major', 'minor', 'info'] as const;
export type Severity = (typeof severities)[number];
export const severityRank: Record<Severity, number> = { info: 0, minor: 1, major: 2, critical: 3 };

export const alarmStates = ['open', 'acknowledged', 'resolved'] as const;
export type AlarmState = (typeof alarmStates)[number];

export const outcomes = ['false_alarm', 'handled_remotely', 'visited', 'ambulance', 'other'] as const;
export type Outcome = (typeof outcomes)[number];
export const outcomeSchema = z.enum(outcomes);

/** open → acknowledged → resolved; an open alarm may also be resolved directly (e.g. a cancelled fall). */
export const transitions: Record<AlarmState, readonly AlarmState[]> = {
  open: ['acknowledged', 'resolved'],
  acknowledged: ['resolved'],
  resolved: [],
};

export const timelineKinds = [
  'raised',
  'repeated',
  'severity_raised',
  'notified',
  'notify_failed',
  'escalated',
  'reminder',
  'acknowledged',
  'note',
  'assigned',
  'resolved',
  'auto_cleared',
  'cancelled_by_resident',
  'cancel_too_late',
  /** A contact answered: going (with an ETA) or not able to. Never the station's acknowledgement. */
  'responded',
  /** A responder reached the home. */
  'on_site',
  /** Staff phoned a contact: reached, no answer, busy. */
  'call',
] as const;
export type TimelineKind = (typeof timelineKinds)[number];

export interface Alarm {
  id: string;
  type: string;
  severity: Severity;
  state: AlarmState;
  residentId: string | null;
  deviceId: string | null;
  stationId: string | null;
  raisedAt: number;
  updatedAt: number;
  count: number;
  escalationLevel: number;
  policy: string;
  detail: Record<string, unknown> | null;
  acknowledgedAt: number | null;
  acknowledgedBy: string | null;
  resolvedAt: number | null;
  resolvedBy: string | null;
  outcome: Outcome | null;
  /** The username of who has it in hand, if anyone took it. */
  assignedTo: string | null;
  /** Each contact's latest answer, oldest first. */
  responses: ContactResponse[];
  /** When a responder first reached the home, and who. */
  onSiteAt: number | null;
  onSiteBy: string | null;
}

/** A contact's answer to an alarm: "I am going, 20 minutes" or "I cannot go". */
export interface ContactResponse {
  name: string;
  relation: string | null;
  going: boolean;
  etaMinutes: number | null;
  at: number;
  /** Who recorded it: the contact's own login, or the staff member who phoned them. */
  recordedBy: string;
}

export const callOutcomes = ['reached', 'no_answer', 'busy', 'wrong_number'] as const;
export type CallOutcome = (typeof callOutcomes)[number];

export interface TimelineEntry {
  at: number;
  kind: TimelineKind;
  actor: string;
  detail: Record<string, unknown> | null;
}

/** The channel on which each committed alarm change is announced to the other nodes (several nodes on PostgreSQL). */
export const ALARM_NOTICES = 'carebell_live';

/** What a node announces of an alarm change: the others read the alarm itself from the database. */
export interface AlarmNotice {
  event: 'alarm.raised' | 'alarm.updated';
  id: string;
  change?: string;
}
