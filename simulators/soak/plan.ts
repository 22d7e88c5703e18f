import { Random } from '../random.ts';
import { scenarioSchema, type DeviceRole, type Incident, type IncidentKind, type Scenario } from '../scenario.ts';

/**
 * How often each incident happens, per resident and day. Assumptions from
 * telecare practice, not measurements: a home makes about one alarm call a
 * month, most of them false alarms or small needs; a fall or a vitals episode
 * every half year or so; fire, gas and water very rarely; a battery flat or a
 * device dropping off now and then; the service button more often than the
 * alarm button.
 */
export const incidentRates: Partial<Record<IncidentKind, number>> = {
  sos: 1 / 30,
  fall: 1 / 200,
  fall_cancelled: 1 / 200,
  heart_rate_climb: 1 / 300,
  spo2_drop: 1 / 300,
  night_bed_exit: 1 / 120,
  smoke: 1 / 3000,
  gas: 1 / 3000,
  water_leak: 1 / 3000,
  battery_down: 1 / 400,
  device_silent: 1 / 800,
  service_press: 1 / 20,
};

/** The alarm an incident must raise (the platform's duty), and how long after it the alarm may come. */
export const expectedAlarm: Partial<Record<IncidentKind, { type: string; withinMs: number; cancelledByResident?: boolean; alsoMay?: string[] }>> = {
  sos: { type: 'sos', withinMs: 60_000 },
  fall: { type: 'fall', withinMs: 60_000 },
  fall_cancelled: { type: 'fall', withinMs: 60_000, cancelledByResident: true },
  // A vitals episode may also lift the resident's NEWS2 score into a warning (vitals_warning): expected, not required.
  heart_rate_climb: { type: 'heart_rate_high', withinMs: 25 * 60_000, alsoMay: ['vitals_warning'] },
  spo2_drop: { type: 'spo2_low', withinMs: 25 * 60_000, alsoMay: ['vitals_warning'] },
  smoke: { type: 'smoke', withinMs: 60_000 },
  gas: { type: 'gas', withinMs: 60_000 },
  water_leak: { type: 'water_leak', withinMs: 60_000 },
  night_bed_exit: { type: 'night_bed_exit', withinMs: 60 * 60_000 },
  battery_down: { type: 'low_battery', withinMs: 2 * 3_600_000 },
  device_silent: { type: 'device_offline', withinMs: 4 * 3_600_000 },
};

/** The devices of a soak's homes: the whole kit but the PIR (the door and the bed already show life). */
export const soakDevices: DeviceRole[] = ['pendant', 'band', 'radar', 'bed', 'door', 'smoke', 'gas', 'water'];
/** Devices with a battery the soak may drain, and devices that may fall silent (not the pendant: its silence is its own incident kind). */
const batteryRoles: DeviceRole[] = ['band', 'door', 'smoke', 'water'];
const silentRoles: DeviceRole[] = ['door', 'smoke', 'water', 'gas'];

const MIN = 60_000;
const HOUR = 60 * MIN;
const DAY = 24 * HOUR;
/** Incidents that raise an alarm are this far apart for one resident, so a handled alarm is closed before the next comes. */
const SPACING_MS = 2 * HOUR;

export interface SoakPlanOptions {
  days: number;
  residents: number;
  seed: number;
  /** Local (Asia/Shanghai) date the soak starts on, at 00:00. */
  date?: string;
  /** Incidents this many times as often as the rates above (a short soak that must still see each kind); 1 by default. */
  rateScale?: number;
  /** Routine reports every so many heartbeats (1 or 2; the scenario's `routineEvery`): 1 by default. */
  routineEvery?: number;
}

/** Homes per community station: a station of the size the policies describe (one desk for a few hundred homes). */
export const HOMES_PER_STATION = 50;

/**
 * The soak as a scenario the simulators play: its homes, weekly button tests
 * (a few residents forget) and incidents drawn from the seed at the rates
 * above, at times of day that fit them (a bed exit at night), never two
 * alarm-raising incidents of one home within two hours. Pure: the same options
 * give the same scenario.
 */
export function soakScenario(o: SoakPlanOptions): Scenario {
  const rng = new Random(o.seed ^ 0x50a4);
  const durationMinutes = o.days * 24 * 60;
  const incidents: Incident[] = [];
  for (let resident = 0; resident < o.residents; resident++) {
    const home = rng.fork(`home-${resident}`);
    const taken: number[] = [];
    const free = (at: number) => taken.every((t) => Math.abs(t - at) >= SPACING_MS);
    for (const [kind, rate] of Object.entries(incidentRates) as Array<[IncidentKind, number]>) {
      // Poisson arrivals: exponential gaps at the rate per day.
      const perDay = rate * (o.rateScale ?? 1);
      for (let t = gap(home, perDay); t < o.days * DAY; t += gap(home, perDay)) {
        let at = t;
        if (kind === 'night_bed_exit') at = Math.floor(t / DAY) * DAY + (23 + home.next() * 5) * HOUR; // 23:00–04:00
        at = Math.floor(at / MIN) * MIN;
        const raises = expectedAlarm[kind] !== undefined;
        // Keep clear of the run's first and last hours (devices settling; alarms after the end are not checked).
        if (at < HOUR || at > o.days * DAY - (expectedAlarm[kind]?.withinMs ?? 0) - 2 * HOUR || (raises && !free(at))) continue;
        if (raises) taken.push(at);
        const device = kind === 'battery_down' ? home.pick(batteryRoles) : kind === 'device_silent' ? home.pick(silentRoles) : undefined;
        incidents.push({ atMinutes: at / MIN, resident, kind, ...(device ? { device } : {}) });
      }
    }
  }
  incidents.sort((a, b) => a.atMinutes - b.atMinutes || (a.resident ?? 0) - (b.resident ?? 0));
  const forgetful = Array.from({ length: o.residents }, (_, i) => i).filter(() => rng.next() < 0.05);
  return scenarioSchema.parse({
    name: 'soak',
    description: `${o.days} simulated days, ${o.residents} homes, incidents at telecare rates`,
    residents: o.residents,
    stations: Math.max(1, Math.ceil(o.residents / HOMES_PER_STATION)),
    date: o.date ?? '2026-11-02',
    start: '00:00',
    durationMinutes,
    devices: soakDevices,
    incidents,
    buttonTests: { everyDays: 7, missedBy: forgetful },
    routineEvery: o.routineEvery ?? 1,
    // Reports spread over up to 10 minutes (see the scenario's reportPhaseMinutes): a thousand homes'
    // pendants in one minute every ten made the run crawl through those minutes.
    reportPhaseMinutes: 10,
  });
}

/** An exponential gap, in ms, for `perDay` arrivals a day. */
const gap = (rng: Random, perDay: number): number => (-Math.log(Math.max(rng.next(), 1e-12)) / perDay) * DAY;

/** Local hour (Asia/Shanghai, UTC+8) of an instant. */
export const localHour = (t: number): number => (((t / HOUR + 8) % 24) + 24) % 24;
