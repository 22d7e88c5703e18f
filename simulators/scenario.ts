import { readFileSync } from 'node:fs';
import { z } from 'zod';

export const incidentKinds = [
  'sos',
  'fall',
  'fall_cancelled',
  'heart_rate_climb',
  'spo2_drop',
  'smoke',
  'gas',
  'water_leak',
  'no_motion',
  'night_bed_exit',
  'device_silent',
  'battery_down',
  'malformed',
  'reconnect_storm',
  /** The weekly test of a button (the pendant, or `device`): recorded as a test, never an alarm. */
  'button_test',
  /** The pendant's service button: a request (meals, housekeeping …), not an alarm. */
  'service_press',
] as const;
export type IncidentKind = (typeof incidentKinds)[number];

/** Device roles in a home-care kit; the fleet plan picks a profile for each. */
export const deviceRoles = ['pendant', 'band', 'radar', 'bed', 'motion', 'door', 'smoke', 'gas', 'water'] as const;
export type DeviceRole = (typeof deviceRoles)[number];

const hhmm = z.string().regex(/^([01]\d|2[0-3]):[0-5]\d$/, 'HH:MM, 24-hour');

export const scenarioSchema = z
  .object({
    $comment: z.string().optional(),
    name: z.string().regex(/^[a-z0-9][a-z0-9-]*$/),
    description: z.string(),
    residents: z.number().int().min(1).max(10_000).default(3),
    stations: z.number().int().min(1).max(100).default(1),
    /** Local (Asia/Shanghai) date and time the simulated run starts at. */
    date: z.iso.date().default('2026-11-20'),
    start: hhmm.default('09:00'),
    durationMinutes: z.number().positive().max(31 * 24 * 60),
    /** The devices of every home; by default the whole kit. */
    devices: z.array(z.enum(deviceRoles)).min(1).default([...deviceRoles]),
    /** Per-resident care settings (PUT /residents/{id}/settings), e.g. a shorter inactivity window. */
    settings: z.record(z.string(), z.unknown()).optional(),
    incidents: z
      .array(
        z
          .object({
            atMinutes: z.number().min(0),
            resident: z.number().int().min(0).optional().describe('which home (0-based); absent for fleet-wide incidents'),
            kind: z.enum(incidentKinds),
            device: z.enum(deviceRoles).optional().describe('device_silent, battery_down, malformed: which device'),
          })
          .strict(),
      )
      .default([]),
    /**
     * Routine reports every so many heartbeats of the device's profile (1: at
     * each heartbeat, as the devices do). A long soak thins them to every 2nd:
     * the silence rule speaks after 3 heartbeats without a word, and what the
     * other rules see (an event, a reading out of range, the faster reports of
     * a vitals episode) is sent as before.
     */
    routineEvery: z.number().min(1).max(2).default(1),
    /**
     * Each device's first routine report comes within this many minutes of the
     * start (a random phase, never more than its interval), and its reports keep
     * that phase. 1: every device is heard in the first minute. A long run
     * spreads them wider, as a fleet's clocks are: with every pendant's phase
     * within one minute, a thousand pendants report in the same minute every ten.
     */
    reportPhaseMinutes: z.number().min(1).max(60).default(1),
    /** Every resident tests their pendant every so many days (at a daytime hour of their own), but those listed in `missedBy`. */
    buttonTests: z.object({ everyDays: z.number().int().min(1).max(31), missedBy: z.array(z.number().int().min(0)).default([]) }).strict().optional(),
    /** Visits recorded through the API as a community worker would (探访关爱). */
    visits: z
      .array(z.object({ atMinutes: z.number().min(0), resident: z.number().int().min(0), kind: z.enum(['phone', 'home']), outcome: z.enum(['well', 'needs_follow_up', 'not_reached']) }).strict())
      .default([]),
    /**
     * A visitor's round for those who live alone: a phone greeting every
     * `phoneEveryDays`, a home visit every `homeEveryDays`; a share of the
     * calls reach nobody, and a home visit follows the next day.
     */
    visitRounds: z.object({ phoneEveryDays: z.number().int().min(1), homeEveryDays: z.number().int().min(1), notReachedShare: z.number().min(0).max(1).default(0) }).strict().optional(),
    /** The alarms the platform must raise, and no others. */
    expect: z
      .array(
        z
          .object({
            resident: z.number().int().min(0),
            alarm: z.string(),
            severity: z.enum(['critical', 'major', 'minor', 'info']).optional(),
            cancelledByResident: z.boolean().optional().describe('the alarm is raised, then cancelled by the resident within the window'),
          })
          .strict(),
      )
      .default([]),
  })
  .strict()
  .superRefine((s, ctx) => {
    for (const [i, inc] of s.incidents.entries()) {
      if (inc.kind !== 'reconnect_storm' && inc.resident === undefined) ctx.addIssue({ code: 'custom', path: ['incidents', i, 'resident'], message: `${inc.kind} needs a resident` });
      if (inc.resident !== undefined && inc.resident >= s.residents) ctx.addIssue({ code: 'custom', path: ['incidents', i, 'resident'], message: `only ${s.residents} residents` });
      if (inc.atMinutes > s.durationMinutes) ctx.addIssue({ code: 'custom', path: ['incidents', i, 'atMinutes'], message: 'after the end of the run' });
    }
    for (const [i, v] of s.visits.entries()) if (v.resident >= s.residents) ctx.addIssue({ code: 'custom', path: ['visits', i, 'resident'], message: `only ${s.residents} residents` });
    for (const [i, e] of s.expect.entries()) if (e.resident >= s.residents) ctx.addIssue({ code: 'custom', path: ['expect', i, 'resident'], message: `only ${s.residents} residents` });
  });

export type Scenario = z.infer<typeof scenarioSchema>;
export type Incident = Scenario['incidents'][number];

export function loadScenario(file: string): Scenario {
  let raw: unknown;
  try {
    raw = JSON.parse(readFileSync(file, 'utf8'));
  } catch (err) {
    throw new Error(`${file}: ${(err as Error).message}`);
  }
  const parsed = scenarioSchema.safeParse(raw);
  if (!parsed.success) throw new Error(`${file}: ${parsed.error.issues.map((i) => `${i.path.join('.') || '(root)'}: ${i.message}`).join('; ')}`);
  return parsed.data;
}

/** The run's start as epoch ms: the scenario's local date and time in China (UTC+8, no DST). */
export const scenarioStart = (s: Scenario): number => Date.parse(`${s.date}T${s.start}:00+08:00`);
