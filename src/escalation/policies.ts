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
  | 'all_contacts'
  /** The provider of the alarm's device (else its resident's); for a station's reminder, the providers it lists. */
  | 'provider';

export interface LadderStep {
  afterSeconds: number;
  name: string;
  targets: TargetSpec[];
  /**
   * Fires unless the alarm is resolved: an acknowledgement does not stop it.
   * For a device fault the station has seen but nobody has fixed.
   */
  untilResolved?: boolean;
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

/**
 * Device faults: the device itself is not working (offline, battery low,
 * opened). JGJ/T 484-2019 asks for a workaround within 2 h of a fault that is
 * not fixed: their ladder gets a last step to the provider at 2 h, which an
 * acknowledgement does not stop; only resolving the fault does.
 */
export const deviceFaults = new Set(['device_offline', 'low_battery', 'tamper']);
export const FAULT_TO_PROVIDER_SECONDS = 2 * 3600;
const PROVIDER_SUFFIX = '+provider';

const withProvider = (base: EscalationPolicy): EscalationPolicy => ({
  ...base,
  id: `${base.id}${PROVIDER_SUFFIX}`,
  steps: [...base.steps, { afterSeconds: FAULT_TO_PROVIDER_SECONDS, name: 'provider (fault not fixed in 2 h)', targets: ['provider'], untilResolved: true }],
});

/** A station's buttons overdue for their test (jobs/jobs.ts): the station and the providers of those devices, at once. */
export const deviceTestReminder: EscalationPolicy = {
  id: 'device-test-reminder',
  steps: [{ afterSeconds: 0, name: 'community station and providers', targets: ['community_station', 'provider'] }],
  reminder: null,
};

export function policyFor(severity: Severity, livesAlone: boolean, type?: string): EscalationPolicy {
  if (type === 'device_test_overdue') return deviceTestReminder;
  const id = livesAlone && (severity === 'critical' || severity === 'major') ? `${severity}-lives-alone` : severity;
  return type !== undefined && deviceFaults.has(type) ? withProvider(policies[id]!) : policies[id]!;
}

export function policyById(id: string): EscalationPolicy {
  if (id === deviceTestReminder.id) return deviceTestReminder;
  const base = policies[id.endsWith(PROVIDER_SUFFIX) ? id.slice(0, -PROVIDER_SUFFIX.length) : id];
  if (!base) throw new Error(`unknown escalation policy ${id}`);
  return id.endsWith(PROVIDER_SUFFIX) ? withProvider(base) : base;
}
