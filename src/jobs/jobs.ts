import cron, { type ScheduledTask } from 'node-cron';
import type { Clock } from '../core/clock.ts';
import type { Logger } from '../core/logger.ts';
import { invalid } from '../core/errors.ts';
import type { DeviceDirectory, KnownDevice } from '../devices/directory.ts';
import type { DeadLetterRepository } from '../store/dead-letters.ts';
import type { StationRepository } from '../store/stations.ts';
import type { TelemetrySink } from '../telemetry/point.ts';
import { deviceCondition, deviceHealthReports } from './device-health.ts';
import type { ReportRepository, StoredReport } from './reports-repository.ts';
import { responseFigures, stationStatistics, type AlarmRow, type StationStatistics } from './statistics.ts';
import type { VisitStatistics } from '../care/visits.ts';
import type { DeviceTestFigures, DueTest } from '../care/device-tests.ts';
import { serviceRequestStatistics, type ServiceRequestQuery, type ServiceRequestStatistics } from '../care/service-requests.ts';
import type { ServiceRequest } from '../core/service-request.ts';
import { ageAt, careCategories, type CareCategory } from '../core/care-profile.ts';
import type { Alarm, Outcome } from '../core/alarm.ts';
import type { RaiseInput } from '../alarms/service.ts';
import { openKey } from '../alarms/repository.ts';
import type { Resident } from '../store/residents.ts';
import type { DeviceHealthReport } from './device-health.ts';

export interface JobsDeps {
  /** The alarms the monthly statistics count (alarms/repository.ts). */
  alarms: { forStatistics(stationIds: string[], from: number, to: number): Promise<AlarmRow[]>; findOpen(key: string): Promise<Alarm | undefined> };
  /** Reminders go out as a station's alarm, through the alarm core's channels (console, webhook). */
  alarmService: { raise(input: RaiseInput): Promise<Alarm>; resolve(id: string, actor: string, outcome: Outcome, note?: string): Promise<Alarm> };
  directory: DeviceDirectory;
  stations: StationRepository;
  /** The visit rate of the care programme (care/visits.ts). */
  visits: { statistics(stationIds: string[], from: number, to: number): Promise<VisitStatistics> };
  /** Service requests made in a period (care/service-requests.ts). */
  serviceRequests: { list(q: ServiceRequestQuery): Promise<ServiceRequest[]> };
  /** Button tests (care/device-tests.ts). */
  deviceTests: { readonly policyDays: number; statistics(stationIds: string[], from: number, to: number): Promise<DeviceTestFigures>; due(include: (d: { stationId: string | null }) => boolean): Promise<DueTest[]> };
  /** Names and addresses for the device health report; everyone, for the population figures. */
  residents: { get(id: string): { name: string; address: string } | undefined; list(): Resident[] };
  reports: ReportRepository;
  deadLetters: DeadLetterRepository;
  sink: TelemetrySink;
  clock: Clock;
  log: Logger;
  timeZone: string;
  telemetryRetentionDays: number;
  deadLetterRetentionDays: number;
  /** Several nodes on one database: each occurrence of a job is run by the node that claims it (jobs/job-runs.ts). */
  runs?: { claim(name: string, dueAt: number, node: string, now: number): Promise<boolean>; pruneBefore(cutoff: number): Promise<number> };
  /** This node's name (CAREBELL_NODE_ID). */
  node?: string;
}

/** Offset of a time zone from UTC at an instant, in ms (UTC+8 → +28,800,000). */
function zoneOffset(epochMs: number, timeZone: string): number {
  const parts = new Intl.DateTimeFormat('en-US', { timeZone, hourCycle: 'h23', year: 'numeric', month: '2-digit', day: '2-digit', hour: '2-digit', minute: '2-digit', second: '2-digit' }).formatToParts(new Date(epochMs));
  const get = (t: string) => Number(parts.find((p) => p.type === t)!.value);
  return Date.UTC(get('year'), get('month') - 1, get('day'), get('hour'), get('minute'), get('second')) - Math.floor(epochMs / 1000) * 1000;
}

/** The calendar month before the one holding `now`, as [start, end) instants in a time zone. */
export function previousMonth(now: number, timeZone: string): { start: number; end: number; label: string } {
  const local = new Date(now + zoneOffset(now, timeZone));
  const y = local.getUTCFullYear();
  const m = local.getUTCMonth();
  const startGuess = Date.UTC(m === 0 ? y - 1 : y, m === 0 ? 11 : m - 1, 1);
  const endGuess = Date.UTC(y, m, 1);
  const start = startGuess - zoneOffset(startGuess, timeZone);
  const end = endGuess - zoneOffset(endGuess, timeZone);
  return { start, end, label: `${m === 0 ? y - 1 : y}-${String(m === 0 ? 12 : m).padStart(2, '0')}` };
}

const HOUR = 3_600_000;

/** Local wall-clock fields of an instant in a time zone (as a UTC date holding them). */
const localOf = (t: number, timeZone: string): Date => new Date(t + zoneOffset(t, timeZone));
/** The instant a local wall-clock time (given as UTC fields) happens in a time zone. */
const instantOf = (localMs: number, timeZone: string): number => localMs - zoneOffset(localMs - zoneOffset(localMs, timeZone), timeZone);

/** The first time after `t` that the local clock reads hh:mm. */
export function nextDaily(t: number, hh: number, mm: number, timeZone: string): number {
  const l = localOf(t, timeZone);
  let candidate = instantOf(Date.UTC(l.getUTCFullYear(), l.getUTCMonth(), l.getUTCDate(), hh, mm), timeZone);
  if (candidate <= t) candidate = instantOf(Date.UTC(l.getUTCFullYear(), l.getUTCMonth(), l.getUTCDate() + 1, hh, mm), timeZone);
  return candidate;
}

/** The first time after `t` that it is the 1st of a month, hh:00 local. */
export function nextMonthly(t: number, hh: number, timeZone: string): number {
  const l = localOf(t, timeZone);
  const candidate = instantOf(Date.UTC(l.getUTCFullYear(), l.getUTCMonth(), 1, hh), timeZone);
  return candidate > t ? candidate : instantOf(Date.UTC(l.getUTCFullYear(), l.getUTCMonth() + 1, 1, hh), timeZone);
}

/** The first time after `t` at minute `mm` of an hour. */
export function nextHourly(t: number, mm: number, timeZone: string): number {
  const l = localOf(t, timeZone);
  const candidate = instantOf(Date.UTC(l.getUTCFullYear(), l.getUTCMonth(), l.getUTCDate(), l.getUTCHours(), mm), timeZone);
  return candidate > t ? candidate : candidate + HOUR;
}

/** "2026-12": the month holding `now` in the time zone. */
export function currentMonthLabel(now: number, timeZone: string): string {
  const local = new Date(now + zoneOffset(now, timeZone));
  return `${local.getUTCFullYear()}-${String(local.getUTCMonth() + 1).padStart(2, '0')}`;
}

/** A month by its label ("2026-06") in the time zone; the current month ends now; a month to come is refused. */
export function namedMonth(label: string, now: number, timeZone: string): { start: number; end: number; label: string; inProgress?: boolean } {
  const [y, m] = label.split('-').map(Number) as [number, number];
  const startGuess = Date.UTC(y, m - 1, 1);
  const endGuess = Date.UTC(y, m, 1);
  const start = startGuess - zoneOffset(startGuess, timeZone);
  const end = endGuess - zoneOffset(endGuess, timeZone);
  if (start > now) throw invalid('month', `${label} has not begun`);
  return end > now ? { start, end: now, label, inProgress: true } : { start, end, label };
}

/** The alarm a station gets each day while any of its buttons is overdue for its test. */
export const DEVICE_TEST_OVERDUE = 'device_test_overdue';

export const ageBands = ['under_60', '60_69', '70_79', '80_89', '90_plus', 'unknown'] as const;
export type AgeBand = (typeof ageBands)[number];
const ageBand = (age: number | null): AgeBand => (age === null ? 'unknown' : age < 60 ? 'under_60' : age < 70 ? '60_69' : age < 80 ? '70_79' : age < 90 ? '80_89' : '90_plus');

/** Who the programme served: residents by category and age band. */
export interface Population {
  total: number;
  /** 80 and over (老老人). */
  oldestOld: number;
  byCategory: Partial<Record<CareCategory, number>>;
  byAgeBand: Record<AgeBand, number>;
}

/** Devices of a station and below, as they are when the figures are computed: online, silent, never heard, low battery. */
export type DeviceCounts = { total: number; online: number; silent: number; neverHeard: number; lowBattery: number };

/** A station's statistics for a period (GET /stations/{id}/statistics, the monthly reports). */
export type CareStatistics = StationStatistics & {
  residents: Population;
  /** As they are now (when the figures are computed), not over the period. */
  devices: DeviceCounts;
  visits: VisitStatistics;
  serviceRequests: ServiceRequestStatistics;
  deviceTests: DeviceTestFigures;
};

/** What `Jobs.stationMonth` answers. */
export type StationMonth = { station: { id: string; name: string; level: string }; month: string; inProgress: boolean } & CareStatistics & {
    below: Array<{ station: { id: string; name: string; level: string }; alarms: number; critical: ReturnType<typeof responseFigures>; devices: DeviceCounts }>;
  };

/**
 * Scheduled work (node-cron, in the organisation's time zone): the daily
 * device health report per provider at 06:00, monthly statistics per station
 * on the 1st at 01:00, and retention pruning every hour. Each job can also be
 * run directly, which is how tests drive them with a manual clock.
 */
export class Jobs {
  readonly #d: JobsDeps;
  readonly #tasks: ScheduledTask[] = [];
  #poll: NodeJS.Timeout | undefined;
  #onClock: Array<{ name: string; due: number }> | undefined;

  constructor(deps: JobsDeps) {
    this.#d = deps;
  }

  async runDeviceHealth(): Promise<StoredReport[]> {
    const now = this.#d.clock.now();
    const places = { resident: (id: string) => this.#d.residents.get(id), station: (id: string) => this.#d.stations.get(id) };
    const stored: StoredReport[] = [];
    for (const body of deviceHealthReports(await this.#d.deadLetters.countByDeviceSince(now - 86_400_000), this.#d.directory, places, now)) {
      stored.push(await this.#d.reports.insert({ kind: 'device_health', subject: body.providerId ?? 'unassigned', periodStart: now - 86_400_000, periodEnd: now, createdAt: now, body }));
    }
    return stored;
  }

  /**
   * A station's month as the console shows it, computed now and not stored:
   * the statistics of the station and everything below it, the critical
   * alarms' answer times for a chart, its devices, and the same figures for
   * each station directly below it (the drill-down). `label` defaults to the
   * month in progress.
   */
  async stationMonth(stationId: string, label?: string): Promise<StationMonth> {
    const now = this.#d.clock.now();
    const month = namedMonth(label ?? currentMonthLabel(now, this.#d.timeZone), now, this.#d.timeZone);
    const station = this.#d.stations.get(stationId)!;
    const below = [];
    for (const s of this.#d.stations.list().filter((x) => x.parentId === stationId)) {
      const stationIds = this.#d.stations.subtree(s.id);
      const rows = await this.#d.alarms.forStatistics(stationIds, month.start, month.end);
      below.push({
        station: { id: s.id, name: s.name, level: s.level },
        alarms: rows.length,
        critical: responseFigures(rows.filter((r) => r.severity === 'critical')),
        devices: this.#deviceCounts(new Set(stationIds), now),
      });
    }
    const figures = await this.statistics(stationId, month.start, month.end);
    return {
      station: { id: station.id, name: station.name, level: station.level },
      month: month.label,
      inProgress: month.inProgress === true,
      ...figures,
      below,
    };
  }

  /** Devices of these stations (and their residents) now: online, silent for 3 heartbeats, never heard, low battery. */
  #deviceCounts(stations: Set<string>, now: number): DeviceCounts {
    const counts = { total: 0, online: 0, silent: 0, neverHeard: 0, lowBattery: 0 };
    for (const d of this.#d.directory.all()) {
      if (d.decommissioned || d.stationId === null || !stations.has(d.stationId)) continue;
      const condition = deviceCondition(d, now);
      counts.total++;
      if (d.online) counts.online++;
      if (condition.neverHeard) counts.neverHeard++;
      if (condition.silentMs !== null) counts.silent++;
      if (condition.lowBattery) counts.lowBattery++;
    }
    return counts;
  }

  /** The device health report as of now, per provider, not stored; `include` narrows the devices (a caller's scope, a station). */
  async deviceHealthNow(include?: (d: KnownDevice) => boolean): Promise<DeviceHealthReport[]> {
    const places = { resident: (id: string) => this.#d.residents.get(id), station: (id: string) => this.#d.stations.get(id) };
    const now = this.#d.clock.now();
    return deviceHealthReports(await this.#d.deadLetters.countByDeviceSince(now - 86_400_000), this.#d.directory, places, now, include);
  }

  /**
   * Statistics of a station and every station below it over [from, to):
   * residents by category and age band, alarms with answer and on-site
   * times, visits, service requests, device tests.
   */
  async statistics(stationId: string, from: number, to: number): Promise<CareStatistics> {
    const stationIds = this.#d.stations.subtree(stationId);
    const rows = await this.#d.alarms.forStatistics(stationIds, from, to);
    const requests = await this.#d.serviceRequests.list({ stationIds, from, to, limit: 1_000_000 });
    return {
      ...stationStatistics(rows, stationIds, from, to),
      residents: this.#population(new Set(stationIds), from, to),
      devices: this.#deviceCounts(new Set(stationIds), this.#d.clock.now()),
      visits: await this.#d.visits.statistics(stationIds, from, to),
      serviceRequests: serviceRequestStatistics(requests),
      deviceTests: await this.#d.deviceTests.statistics(stationIds, from, to),
    };
  }

  /** Residents in the programme during [from, to), by category and by age band (their age at `to`). */
  #population(stations: Set<string>, from: number, to: number): Population {
    const out: Population = { total: 0, oldestOld: 0, byCategory: {}, byAgeBand: Object.fromEntries(ageBands.map((b) => [b, 0])) as Population['byAgeBand'] };
    for (const r of this.#d.residents.list()) {
      if (!stations.has(r.stationId) || r.createdAt >= to || (r.deactivatedAt !== null && r.deactivatedAt < from)) continue;
      out.total++;
      for (const c of r.categories) out.byCategory[c] = (out.byCategory[c] ?? 0) + 1;
      const age = r.birthDate ? ageAt(r.birthDate, to - 1, this.#d.timeZone) : null;
      out.byAgeBand[ageBand(age)]++;
      if (age !== null && age >= 80) out.oldestOld++;
    }
    out.byCategory = Object.fromEntries(careCategories.filter((c) => out.byCategory[c] !== undefined).map((c) => [c, out.byCategory[c]!]));
    return out;
  }

  /**
   * The daily reminder of button tests (JGJ/T 484-2019 §10.3.1): each station
   * with devices whose last test is older than the policy gets one alarm
   * (minor, `device_test_overdue`) listing them, through the alarm core's
   * channels; raised again the next day while any is still overdue, and
   * resolved by the system once every one of them has been tested.
   */
  async runDeviceTestReminders(): Promise<Array<{ stationId: string; overdue: number; alarmId: string }>> {
    const overdue = (await this.#d.deviceTests.due(() => true)).filter((d) => d.overdue && d.stationId !== null);
    const byStation = new Map<string, DueTest[]>();
    for (const d of overdue) byStation.set(d.stationId!, [...(byStation.get(d.stationId!) ?? []), d]);
    const out: Array<{ stationId: string; overdue: number; alarmId: string }> = [];
    for (const [stationId, devices] of byStation) {
      const alarm = await this.#d.alarmService.raise({
        type: DEVICE_TEST_OVERDUE,
        severity: 'minor',
        subject: `station:${stationId}`,
        deviceId: null,
        residentId: null,
        stationId,
        actor: 'system',
        detail: {
          devices: devices.length,
          policyDays: this.#d.deviceTests.policyDays,
          // The providers of these devices are told too (escalation/policies.ts, deviceTestReminder).
          providerIds: [...new Set(devices.flatMap((d) => (d.providerId ? [d.providerId] : [])))],
          list: devices.slice(0, 50).map((d) => ({ deviceId: d.deviceId, model: d.model, resident: d.name, address: d.address, providerId: d.providerId, lastTestAt: d.lastTestAt === null ? null : new Date(d.lastTestAt).toISOString() })),
        },
      });
      out.push({ stationId, overdue: devices.length, alarmId: alarm.id });
    }
    // Stations with a reminder open and nothing overdue any more: every device was tested.
    for (const station of this.#d.stations.list()) {
      if (byStation.has(station.id)) continue;
      const open = await this.#d.alarms.findOpen(openKey(`station:${station.id}`, DEVICE_TEST_OVERDUE));
      if (open) await this.#d.alarmService.resolve(open.id, 'system', 'handled_remotely', 'every device has been tested');
    }
    return out;
  }

  /**
   * Statistics of every station for a month: by default the month before
   * now (what the job on the 1st reports); `label` ("2026-06") names another,
   * the current one included, reported up to now (`inProgress`).
   */
  async runMonthlyStatistics(label?: string): Promise<StoredReport[]> {
    const now = this.#d.clock.now();
    const month: { start: number; end: number; label: string; inProgress?: boolean } = label === undefined ? previousMonth(now, this.#d.timeZone) : namedMonth(label, now, this.#d.timeZone);
    const stored: StoredReport[] = [];
    for (const station of this.#d.stations.list()) {
      const statistics = await this.statistics(station.id, month.start, month.end);
      stored.push(
        await this.#d.reports.insert({
          kind: 'station_monthly',
          subject: station.id,
          periodStart: month.start,
          periodEnd: month.end,
          createdAt: now,
          body: { station: { id: station.id, name: station.name, level: station.level }, month: month.label, ...(month.inProgress ? { inProgress: true } : {}), ...statistics },
        }),
      );
    }
    return stored;
  }

  async runRetention(): Promise<{ telemetry: number; deadLetters: number }> {
    const now = this.#d.clock.now();
    const deadLetters = await this.#d.deadLetters.pruneBefore(now - this.#d.deadLetterRetentionDays * 86_400_000);
    await this.#d.runs?.pruneBefore(now - 90 * 86_400_000);
    const telemetry = (await this.#d.sink.pruneBefore?.(now - this.#d.telemetryRetentionDays * 86_400_000)) ?? 0;
    return { telemetry, deadLetters };
  }

  /** The scheduled jobs: when each runs (as a cron expression and as the next time after an instant, in the time zone), and what it does. */
  #schedule(): Array<{ name: string; cron: string; next: (t: number) => number; run: () => unknown }> {
    const tz = this.#d.timeZone;
    return [
      { name: 'device-health', cron: '0 6 * * *', next: (t) => nextDaily(t, 6, 0, tz), run: () => this.runDeviceHealth() },
      { name: 'device-tests', cron: '0 9 * * *', next: (t) => nextDaily(t, 9, 0, tz), run: () => this.runDeviceTestReminders() },
      { name: 'station-monthly', cron: '0 1 1 * *', next: (t) => nextMonthly(t, 1, tz), run: () => this.runMonthlyStatistics() },
      { name: 'retention', cron: '17 * * * *', next: (t) => nextHourly(t, 17, tz), run: () => this.runRetention() },
    ];
  }

  /**
   * A job's run at its due time `dueAt` (a cron job: the minute it fired):
   * claimed first when several nodes share the store, skipped when another
   * node has it.
   */
  #guard(name: string, fn: () => unknown, dueAt: () => number): () => Promise<void> {
    return async () => {
      try {
        const { runs, node } = this.#d;
        if (runs && node !== undefined && !(await runs.claim(name, dueAt(), node, this.#d.clock.now()))) {
          this.#d.log.debug({ job: name }, 'scheduled job run by another node');
          return;
        }
        const result = await fn();
        this.#d.log.info({ job: name, result: Array.isArray(result) ? `${result.length} reports` : result }, 'scheduled job done');
      } catch (err) {
        this.#d.log.error({ err, job: name }, 'scheduled job failed');
      }
    };
  }

  /**
   * Runs the jobs at their times: on the wall clock (node-cron), or, with
   * `onClock`, on the gateway's own clock — simulated time in a demo, a
   * simulated run or a soak, where a day may pass in seconds. On the clock,
   * each job runs once when its time has come (once, however many of its
   * periods a fast clock skipped), never two at a time.
   */
  start(opts: { onClock?: boolean; pollMs?: number } = {}): void {
    if (!opts.onClock) {
      const options = { timezone: this.#d.timeZone, noOverlap: true, unref: true };
      const minute = () => Math.floor(this.#d.clock.now() / 60_000) * 60_000;
      for (const job of this.#schedule()) this.#tasks.push(cron.schedule(job.cron, this.#guard(job.name, job.run, minute), { ...options, name: job.name }));
      return;
    }
    const now = this.#d.clock.now();
    const jobs: Array<{ name: string; next: (t: number) => number; due: number; run: () => Promise<void> }> = [];
    for (const job of this.#schedule()) {
      const entry = { name: job.name, next: job.next, due: job.next(now), run: async () => {} };
      entry.run = this.#guard(job.name, job.run, () => entry.due);
      jobs.push(entry);
    }
    this.#onClock = jobs;
    let running = false;
    this.#poll = setInterval(() => {
      if (running) return;
      running = true;
      void (async () => {
        for (const job of jobs) {
          if (this.#d.clock.now() < job.due) continue;
          await job.run();
          job.due = job.next(this.#d.clock.now());
        }
      })().finally(() => (running = false));
    }, opts.pollMs ?? 100);
    this.#poll.unref();
  }

  nextRuns(): Record<string, string | null> {
    if (this.#onClock) return Object.fromEntries(this.#onClock.map((j) => [j.name, new Date(j.due).toISOString()]));
    return Object.fromEntries(this.#tasks.map((t) => [t.name ?? t.id, t.getNextRun()?.toISOString() ?? null]));
  }

  async stop(): Promise<void> {
    if (this.#poll) clearInterval(this.#poll);
    this.#poll = undefined;
    for (const t of this.#tasks.splice(0)) await t.destroy();
  }
}
