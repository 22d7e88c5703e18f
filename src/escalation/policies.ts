import type { Severity } from '../core/alarm.ts';

/**
 * Escalation policies are data: who is told at which step, per severity, and
 * tighter for residents who live alone. Step 0 fires with the alarm; later
 * steps fire when their deadline passes without an acknowledgement; then
 * reminders repeat until someone acknowledges.
 *
 * Critical defaults follow telecare practice (TSA Quality Standards Framework:
 * 97.5 % of alarm calls answered within 60 s, 99 % within 180 s): the community
 * station first; at 60 s the street centre and the primary family contact; at
 * 180 s the district centre and every contact.
 */
export type TargetSpec =
  | 'community_station'
  | 'street_centre'
  | 'district_centre'
  | 'station_siren'
  | 'resident_device'
  | 'primary_contact'
  | 'all_contacts';

export interface LadderStep {
  afterSeconds: number;
  name: string;
  targets: TargetSpec[];
}

export interface EscalationPolicy {
  id: string;
  steps: LadderStep[];
  /** After the last step, remind these targets this often until acknowledged; null = no reminders. */
  reminder: { everySeconds: number; targets: TargetSpec[] } | null;
}

const critical = (first: number, second: number): LadderStep[] => [
  { afterSeconds: 0, name: 'community station', targets: ['community_station', 'station_siren', 'resident_device'] },
  { afterSeconds: first, name: 'street centre and primary contact', targets: ['street_centre', 'primary_contact'] },
  { afterSeconds: second, name: 'district centre and every contact', targets: ['district_centre', 'all_contacts'] },
];

export const policies: Record<string, EscalationPolicy> = {
  critical: { id: 'critical', steps: critical(60, 180), reminder: { everySeconds: 120, targets: ['community_station', 'street_centre', 'district_centre'] } },
  'critical-lives-alone': {
    id: 'critical-lives-alone',
    steps: critical(45, 120),
    reminder: { everySeconds: 60, targets: ['community_station', 'street_centre', 'district_centre'] },
  },
  major: {
    id: 'major',
    steps: [
      { afterSeconds: 0, name: 'community station', targets: ['community_station'] },
      { afterSeconds: 600, name: 'street centre and primary contact', targets: ['street_centre', 'primary_contact'] },
      { afterSeconds: 1800, name: 'district centre', targets: ['district_centre'] },
    ],
    reminder: { everySeconds: 900, targets: ['community_station'] },
  },
  'major-lives-alone': {
    id: 'major-lives-alone',
    steps: [
      { afterSeconds: 0, name: 'community station', targets: ['community_station'] },
      { afterSeconds: 300, name: 'street centre and primary contact', targets: ['street_centre', 'primary_contact'] },
      { afterSeconds: 900, name: 'district centre and every contact', targets: ['district_centre', 'all_contacts'] },
    ],
    reminder: { everySeconds: 600, targets: ['community_station'] },
  },
  minor: { id: 'minor', steps: [{ afterSeconds: 0, name: 'community station', targets: ['community_station'] }], reminder: null },
  info: { id: 'info', steps: [{ afterSeconds: 0, name: 'community station', targets: ['community_station'] }], reminder: null },
};

export function policyFor(severity: Severity, livesAlone: boolean): EscalationPolicy {
  const id = livesAlone && (severity === 'critical' || severity === 'major') ? `${severity}-lives-alone` : severity;
  return policies[id]!;
}

export function policyById(id: string): EscalationPolicy {
  const policy = policies[id];
  if (!policy) throw new Error(`unknown escalation policy ${id}`);
  return policy;
}
