import { readFileSync } from 'node:fs';
import { z } from 'zod';
import { CarebellError } from '../../src/core/errors.ts';
import { Random } from '../random.ts';
import { soakDevices } from './plan.ts';
import type { Incident } from '../scenario.ts';

const MIN = 60_000;
const DAY = 24 * 60 * MIN;

/** Which receiver an outage takes down: a community station's (by index), the street centre's or the district's. */
const receiver = z.string().regex(/^(street|district|community-\d+)$/, 'street, district or community-N (N: the station, from 0)');

/** A soak's faults, in minutes from its start: what a FILE given to --faults holds. */
export const faultPlanSchema = z
  .object({
    /** A station's webhook receiver answers 503 for a while. */
    webhookOutages: z.array(z.object({ receiver, atMinutes: z.number().min(0), minutes: z.number().positive() }).strict()).default([]),
    /** Every device drops its connection and reconnects at once. */
    reconnectStorms: z.array(z.number().min(0)).default([]),
    /** Devices send garbage: each burst is `devices` homes' devices at once. */
    malformedBursts: z.array(z.object({ atMinutes: z.number().min(0), devices: z.number().int().min(1) }).strict()).default([]),
    /** The gateway killed with SIGKILL and started again `downSeconds` later (its devices reconnect, what they sent meanwhile is redelivered). */
    gatewayKills: z.array(z.object({ atMinutes: z.number().min(0), downSeconds: z.number().min(1).max(3600) }).strict()).default([]),
    /** A community station's desk is empty (its console closed). */
    unstaffed: z.array(z.object({ station: z.number().int().min(0), atMinutes: z.number().min(0), minutes: z.number().positive() }).strict()).default([]),
    /** InfluxDB killed (SIGKILL) and started again `minutes` later; only with `--influx`. */
    influxOutages: z.array(z.object({ atMinutes: z.number().min(0), minutes: z.number().positive() }).strict()).default([]),
  })
  .strict();
export type FaultPlan = z.infer<typeof faultPlanSchema>;

/**
 * The default faults, drawn from the seed: each day, the webhook receivers of
 * the first community station, the street and the district each down for 30
 * minutes at a random time, and a burst of malformed payloads from 10 homes;
 * a reconnect storm of the whole fleet every third day (on the first day for a
 * shorter soak); the first station's desk empty for an hour once a week, at
 * 03:00 on the second day; the gateway killed (SIGKILL) once a day and
 * started again 10 s later; with InfluxDB, InfluxDB killed once a day and
 * started again 20 minutes later.
 */
export function defaultFaults(days: number, seed: number, opts: { influx?: boolean } = {}): FaultPlan {
  const rng = new Random(seed ^ 0xfa17);
  const during = (day: number, fromHour: number, toHour: number) => Math.round(day * 24 * 60 + (fromHour + rng.next() * (toHour - fromHour)) * 60);
  const plan: FaultPlan = { webhookOutages: [], reconnectStorms: [], malformedBursts: [], gatewayKills: [], unstaffed: [], influxOutages: [] };
  for (let day = 0; day < days; day++) {
    for (const r of ['community-0', 'street', 'district']) plan.webhookOutages.push({ receiver: r, atMinutes: during(day, 1, 22), minutes: 30 });
    plan.malformedBursts.push({ atMinutes: during(day, 1, 22), devices: 10 });
    if (day % 3 === (days < 3 ? 0 : 1)) plan.reconnectStorms.push(during(day, 1, 22));
    if (day % 7 === Math.min(1, days - 1)) plan.unstaffed.push({ station: 0, atMinutes: day * 24 * 60 + 3 * 60, minutes: 60 });
  }
  // Once a day the gateway is killed and a supervisor starts it again 10 s later, never within 10 minutes of a storm.
  const kills = new Random(seed ^ 0xdead);
  for (let day = 0; day < days; day++) {
    let at = 0;
    do at = Math.round(day * 24 * 60 + (1 + kills.next() * 21) * 60);
    while (plan.reconnectStorms.some((storm) => Math.abs(storm - at) < 10));
    plan.gatewayKills.push({ atMinutes: at, downSeconds: 10 });
  }
  const influx = new Random(seed ^ 0x1f1);
  if (opts.influx) for (let day = 0; day < days; day++) plan.influxOutages.push({ atMinutes: Math.round(day * 24 * 60 + (1 + influx.next() * 21) * 60), minutes: 20 });
  return plan;
}

/** `none`, `default`, or a JSON file with the schema above. */
export function loadFaults(spec: string, days: number, seed: number, opts: { influx?: boolean } = {}): FaultPlan {
  if (spec === 'none') return faultPlanSchema.parse({});
  if (spec === 'default') return defaultFaults(days, seed, opts);
  let raw: unknown;
  try {
    raw = JSON.parse(readFileSync(spec, 'utf8'));
  } catch (err) {
    throw new CarebellError('validation_failed', `--faults ${spec}: ${(err as Error).message} (give default, none, or a JSON file)`);
  }
  const parsed = faultPlanSchema.safeParse(raw);
  if (!parsed.success) throw new CarebellError('validation_failed', `--faults ${spec}: ${parsed.error.issues.map((i) => `${i.path.join('.') || '(root)'}: ${i.message}`).join('; ')}`);
  return parsed.data;
}

/** The faults the devices act out, as scenario incidents (storms; garbage from random homes' random devices). */
export function faultIncidents(plan: FaultPlan, residents: number, seed: number): Incident[] {
  const rng = new Random(seed ^ 0xbad);
  const out: Incident[] = plan.reconnectStorms.map((atMinutes) => ({ atMinutes, kind: 'reconnect_storm' }));
  for (const burst of plan.malformedBursts) {
    for (let i = 0; i < Math.min(burst.devices, residents); i++) out.push({ atMinutes: burst.atMinutes, resident: rng.int(0, residents - 1), kind: 'malformed', device: rng.pick(soakDevices) });
  }
  return out;
}

/** When each fault was on, in simulated ms, for the report's timeline. */
export function faultTimeline(plan: FaultPlan, start: number): Array<{ kind: string; what: string; from: number; to: number }> {
  return [
    ...plan.webhookOutages.map((o) => ({ kind: 'webhook receiver down', what: o.receiver, from: start + o.atMinutes * MIN, to: start + (o.atMinutes + o.minutes) * MIN })),
    ...plan.reconnectStorms.map((at) => ({ kind: 'reconnect storm', what: 'every device', from: start + at * MIN, to: start + at * MIN + MIN })),
    ...plan.malformedBursts.map((b) => ({ kind: 'malformed burst', what: `${b.devices} devices`, from: start + b.atMinutes * MIN, to: start + b.atMinutes * MIN + MIN })),
    ...plan.gatewayKills.map((k) => ({ kind: 'gateway killed', what: `SIGKILL, started again ${k.downSeconds} s later`, from: start + k.atMinutes * MIN, to: start + k.atMinutes * MIN + k.downSeconds * 1000 })),
    ...plan.influxOutages.map((o) => ({ kind: 'InfluxDB down', what: 'SIGKILL, started again', from: start + o.atMinutes * MIN, to: start + (o.atMinutes + o.minutes) * MIN })),
    ...plan.unstaffed.map((u) => ({ kind: 'desk unstaffed', what: `community-${u.station}`, from: start + u.atMinutes * MIN, to: start + (u.atMinutes + u.minutes) * MIN })),
  ].sort((a, b) => a.from - b.from);
}

export { DAY };
