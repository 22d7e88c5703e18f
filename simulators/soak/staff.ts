import { readSse, type SseEvent } from '../../src/core/sse-reader.ts';
import { Random } from '../random.ts';
import { ApiError, type ApiClient } from '../runner.ts';
import { localHour } from './plan.ts';

/** Someone with a login: a desk, or a family member with the family page on a phone. */
interface Person {
  username: string;
  password: string;
  token: string;
}

/** A resident's family contact: told by their phone (the contact's webhook), answers on the family page. */
interface Family extends Person {
  resident: number;
  /** The account, made the first time the family is told of an alarm (most never are in a run). */
  account: () => Promise<void>;
}

/** A station's duty desk: an operator account logged in with its console (the live stream) open. */
interface Desk extends Person {
  name: string;
  level: 'community' | 'street' | 'district';
  stationId: string;
  /** Index among the community stations (the plan's), for the unstaffed hours. */
  index: number;
  stream: AbortController | undefined;
  away: boolean;
  /** Since when (simulated, and real ms) its console has not been open though the desk is there: the clock waits for it. */
  blind: { since: number; real: number } | undefined;
}

/** An hour (or any stretch) of simulated time in which a community desk is empty: its console closed. */
export interface Absence {
  station: number;
  from: number;
  to: number;
}

/** What a simulated person did, for the report. */
export interface StaffAction {
  at: number;
  desk: string;
  action: 'ack' | 'resolve' | 'away' | 'back' | 'respond' | 'no_answer';
  alarmId?: string;
  result: 'done' | 'already' | 'failed';
}

interface Pending {
  at: number;
  /** Whose action (none: a family's). */
  desk: Desk | undefined;
  /** An answer (cancelled when its desk leaves) or the desk's own coming and going. */
  kind: 'answer' | 'shift';
  run: () => Promise<void>;
  started?: number;
}

type AlarmData = { id: string; type: string; severity: string; state: string; stationId: string | null; raisedAt: string; change?: string; console?: { stationId: string; step: number } };

/** Device faults: the desk acknowledges them, nobody resolves them by hand (fixing the device does). */
const FAULTS = new Set(['low_battery', 'device_offline', 'tamper', 'device_test_overdue', 'wearable_removed']);

/**
 * Answer times in simulated seconds, log-normal (median, spread): a
 * community desk answers in about 10 s by day (99.9 % within 35 s), 15 s at
 * night (99.9 % within a minute) and 25 s at the shift changes (07:50–08:10,
 * 19:50–20:10; 2.5 % of those after a minute, so the street centre is told);
 * the street and district desks answer what reaches them in 25 and 40 s; a
 * minor alarm waits minutes. A well-run station: the KPIs hold when the
 * platform does its part.
 */
export function answerSeconds(rng: Random, level: Desk['level'], severity: string, at: number): number {
  if (severity === 'minor' || severity === 'info') return logNormal(rng, 480, 0.6);
  if (level === 'street') return logNormal(rng, 25, 0.5);
  if (level === 'district') return logNormal(rng, 40, 0.5);
  const h = localHour(at);
  const change = (h >= 7 + 50 / 60 && h < 8 + 10 / 60) || (h >= 19 + 50 / 60 && h < 20 + 10 / 60);
  if (change) return logNormal(rng, 25, 0.45);
  if (h >= 8 && h < 20) return logNormal(rng, 10, 0.4);
  return logNormal(rng, 15, 0.45);
}
const logNormal = (rng: Random, median: number, sigma: number) => median * Math.exp(rng.normal(0, sigma));

/** Outcome a desk records when it closes a handled alarm: most calls are false alarms or small needs. */
const outcomeFor = (rng: Random, type: string): string => {
  if (type === 'sos') return rng.pick(['false_alarm', 'false_alarm', 'false_alarm', 'handled_remotely', 'handled_remotely', 'visited']);
  if (type === 'fall') return rng.pick(['visited', 'visited', 'ambulance', 'false_alarm']);
  return rng.pick(['handled_remotely', 'visited']);
};

/**
 * The people on duty, acting through the same API and live stream as real
 * ones: each station's desk (community, street, district) logs in, keeps its
 * console open and answers what its console is alerted to, after a time drawn
 * for its tier and the hour; it closes what it acknowledged a few minutes
 * later with an outcome. A community desk may be away (its console closed):
 * it hands its watch to the street centre for that time, whose desk answers
 * that station's alarms from its own console as they come (交接班); back, it
 * takes up what is still unacknowledged in its scope.
 *
 * Their actions are scheduled in simulated time; `hold()` says the earliest
 * one not yet done, so the run's clock never passes an answer still to be
 * given (at 1,000× a 10 ms round trip would otherwise be 10 simulated seconds).
 */
export class Staff {
  readonly log: StaffAction[] = [];
  readonly #desks: Desk[] = [];
  readonly #families = new Map<number, Family>();
  readonly #pending: Pending[] = [];
  /** Actions under way (an API call in flight). */
  readonly #running = new Set<Promise<void>>();
  readonly #handled = new Set<string>();
  /** Community stations whose desk is away, watched by the street desk meanwhile. */
  readonly #covered = new Set<string>();
  readonly #rng: Random;
  /**
   * A desk's console showed an alarm (an alert for its station, an alarm it
   * covers, one waiting when it opened): a soak's gateway process holds its
   * clock from the alert until the people have seen it (gateway.ts).
   */
  onAlertSeen: ((alarmId: string, stationId: string) => void) | undefined;
  #timer: NodeJS.Timeout | undefined;
  #stopped = false;
  /** The gateway is down (killed, starting again): nobody can act through it, and nobody holds the clock. */
  #gatewayDown = false;

  constructor(
    readonly api: ApiClient,
    readonly now: () => number,
    seed: number,
  ) {
    this.#rng = new Random(seed ^ 0x57aff);
  }

  /** Creates a desk account per station and logs each in; consoles open with `start()`. */
  async staff(stations: Array<{ id: string; name: string; level: Desk['level']; index: number }>, prefix: string): Promise<void> {
    for (const s of stations) {
      const username = `${prefix}.${s.level}.${s.index}`.slice(0, 64);
      const password = `soak-desk-${s.level}-${s.index}-${prefix}`.padEnd(16, '0');
      await this.api.call('POST', '/api/v1/users', { username, password, role: 'operator', stationId: s.id, displayName: `${s.name} 值班员` });
      const desk: Desk = { name: username, level: s.level, stationId: s.id, index: s.index, username, password, token: '', stream: undefined, away: false, blind: undefined };
      await this.#login(desk);
      this.#desks.push(desk);
    }
  }

  /**
   * A family account for each resident's contact, made when they are first
   * told of an alarm (then they log in): a thousand homes' accounts made up
   * front would cost the gateway a thousand password hashes before the run.
   */
  family(residents: Array<{ index: number; id: string; name: string; relation: string }>, prefix: string): void {
    for (const r of residents) {
      const username = `${prefix}.family.${r.index}`.slice(0, 64);
      const password = `soak-family-${r.index}-${prefix}`.padEnd(16, '0');
      let made: Promise<void> | undefined;
      // Made once; tried again when the gateway was down (409: made before it went).
      const account = () =>
        (made ??= this.api.call('POST', '/api/v1/users', { username, password, role: 'family', residentId: r.id, relation: r.relation, displayName: r.name }).then(
          () => {},
          (err: unknown) => {
            if (err instanceof ApiError && err.status === 409) return;
            made = undefined;
            throw err;
          },
        ));
      this.#families.set(r.index, { resident: r.index, username, password, token: '', account });
    }
  }

  /**
   * A webhook reached a family's phone (`/family-N`): most answer within a
   * few minutes on the family page, going (with an ETA) or not able to; some
   * do not answer at all. Never the station's acknowledgement.
   */
  onWebhook(w: { path: string; event: string; alarmId: string }): void {
    const match = /^\/family-(\d+)$/.exec(w.path);
    const family = match ? this.#families.get(Number(match[1])) : undefined;
    if (!family || (w.event !== 'alarm.raised' && w.event !== 'alarm.escalated')) return;
    const key = `family ${family.resident} ${w.alarmId}`;
    if (this.#handled.has(key)) return;
    this.#handled.add(key);
    const r = this.#rng.next();
    if (r < 0.15) return void this.log.push({ at: this.now(), desk: family.username, action: 'no_answer', alarmId: w.alarmId, result: 'done' });
    const going = r < 0.8;
    const body = going ? { going: true, etaMinutes: 10 + Math.floor(this.#rng.next() * 30) } : { going: false };
    this.#schedule(this.now() + (1 + this.#rng.next() * 7) * 60_000, undefined, async () => {
      if (!family.token) {
        await family.account();
        await this.#login(family);
      }
      const res = await this.#call(family, `/api/v1/alarms/${w.alarmId}/respond`, body);
      this.log.push({ at: this.now(), desk: family.username, action: 'respond', alarmId: w.alarmId, result: res });
    });
  }

  /** A login lasts CAREBELL_LOGIN_TTL_HOURS of (simulated) time: a person logs in again when the API says their login ended. */
  async #login(person: Person): Promise<void> {
    const res = await fetch(`${this.api.target.apiUrl}/api/v1/auth/login`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ username: person.username, password: person.password }) });
    if (!res.ok) throw new Error(`login ${person.username}: ${res.status}`);
    person.token = ((await res.json()) as { token: string }).token;
  }

  /** Opens every console and starts acting; `absences` are the community desks' empty hours. */
  start(absences: Absence[]): void {
    for (const d of this.#desks) this.#open(d);
    for (const a of absences) {
      const desk = this.#desks.find((d) => d.level === 'community' && d.index === a.station);
      if (!desk) continue;
      this.#schedule(a.from, desk, async () => this.#leave(desk), 'shift');
      this.#schedule(a.to, desk, async () => this.#back(desk), 'shift');
    }
    // Each shift logs in before the last one leaves (07:55 and 19:55): a login lasts 12 h, and a console never closes at a shift change.
    const HOUR = 3_600_000;
    const local = this.now() + 8 * HOUR;
    const dayStart = local - (((local % (24 * HOUR)) + 24 * HOUR) % (24 * HOUR)) - 8 * HOUR;
    const change = [7, 19, 31, 43].map((h) => dayStart + h * HOUR + 55 * 60_000).find((t) => t > this.now())!;
    for (const desk of this.#desks) this.#shiftChange(desk, change);
    const loop = () => {
      if (this.#stopped) return;
      this.#runDue();
      this.#timer = setTimeout(loop, 2);
    };
    loop();
  }

  /**
   * The earliest simulated time an action is due and not yet done, or since
   * when a desk's console has been reopening (either stuck for 10 s real
   * holds no longer).
   */
  hold(): number {
    if (this.#gatewayDown) return Number.POSITIVE_INFINITY;
    const real = performance.now();
    let min = Number.POSITIVE_INFINITY;
    for (const p of this.#pending) if (p.at < min && (p.started === undefined || real - p.started < 10_000)) min = p.at;
    for (const d of this.#desks) if (d.blind && !d.away && d.blind.since < min && real - d.blind.real < 10_000) min = d.blind.since;
    return min;
  }

  /**
   * The gateway went down (true) or is back (false). Meanwhile no answer is
   * given (they are given once it is back, late by the outage), consoles keep
   * trying to reopen, and the clock goes on without the people.
   */
  gatewayDown(down: boolean): void {
    this.#gatewayDown = down;
    if (!down) for (const d of this.#desks) if (d.blind) d.blind = { since: this.now(), real: performance.now() };
  }

  /** The next shift logs in at `at` and opens its console; the one before closes its own. */
  #shiftChange(desk: Desk, at: number): void {
    this.#schedule(
      at,
      desk,
      async () => {
        this.#shiftChange(desk, at + 12 * 3_600_000);
        if (desk.away) return;
        await this.#login(desk);
        const before = desk.stream;
        this.#open(desk);
        before?.abort();
      },
      'shift',
    );
  }

  /** Actions scheduled and not finished. */
  get pending(): number {
    return this.#pending.length;
  }

  /** Stops acting; resolves once what was under way has finished (at most 15 s). */
  async stop(): Promise<void> {
    this.#stopped = true;
    clearTimeout(this.#timer);
    for (const d of this.#desks) d.stream?.abort();
    const running = [...this.#running];
    if (running.length > 0) await Promise.race([Promise.allSettled(running), new Promise((r) => setTimeout(r, 15_000).unref())]);
  }

  #schedule(at: number, desk: Desk | undefined, run: () => Promise<void>, kind: Pending['kind'] = 'answer'): void {
    // Never in the simulated past: the clock may already be beyond (a late alert).
    this.#pending.push({ at: Math.max(at, this.now()), desk, run, kind });
  }

  #runDue(): void {
    if (this.#gatewayDown) return;
    const now = this.now();
    for (const p of this.#pending) {
      if (p.started !== undefined || p.at > now) continue;
      p.started = performance.now();
      const running = p
        .run()
        .catch(() => {})
        .finally(() => {
          this.#running.delete(running);
          const i = this.#pending.indexOf(p);
          if (i >= 0) this.#pending.splice(i, 1);
        });
      this.#running.add(running);
    }
  }

  #open(desk: Desk): void {
    const controller = new AbortController();
    desk.stream = controller;
    desk.blind ??= { since: this.now(), real: performance.now() };
    void fetch(`${this.api.target.apiUrl}/api/v1/stream`, { headers: { authorization: `Bearer ${desk.token}`, accept: 'text/event-stream' }, signal: controller.signal })
      .then(async (res) => {
        if (res.status === 401) {
          await res.arrayBuffer();
          return this.#login(desk);
        }
        if (!res.ok || !res.body) throw new Error(`stream ${res.status}`);
        if (desk.stream === controller) desk.blind = undefined;
        // A console that opens shows what is waiting: take up what is still unacknowledged.
        void this.#catchUp(desk);
        await readSse(res.body, (e) => e !== 'heartbeat' && this.#onEvent(desk, e));
      })
      .catch(() => {})
      .finally(() => {
        // A console the desk did not close opens again (a dropped connection, a restarted gateway).
        if (this.#stopped || desk.away || desk.stream !== controller) return;
        desk.blind ??= { since: this.now(), real: performance.now() };
        setTimeout(() => !this.#stopped && !desk.away && desk.stream === controller && this.#open(desk), 10);
      });
  }

  /** What is waiting in the stations `desk` watches: its own (a community desk), or those it covers (the street's). */
  async #catchUp(desk: Desk, stations = desk.level === 'community' ? [desk.stationId] : [...this.#covered]): Promise<void> {
    for (const stationId of stations) {
      const waiting = await this.api.call<AlarmData[]>('GET', `/api/v1/alarms?state=open&stationId=${stationId}&limit=500`).catch(() => []);
      for (const a of waiting) this.#answer(desk, a, Date.parse(a.raisedAt));
    }
  }

  #onEvent(desk: Desk, e: SseEvent): void {
    if (desk.away) return;
    const a = e.data as AlarmData;
    if (e.event === 'alarm.updated' && a.change === 'console_alert' && a.console?.stationId === desk.stationId) this.onAlertSeen?.(a.id, desk.stationId);
    // The street desk covering for an empty community desk answers that station's alarms as they are raised.
    if (e.event === 'alarm.raised' && desk.level === 'street' && a.stationId !== null && this.#covered.has(a.stationId)) return this.#answer(desk, a, Date.parse(a.raisedAt));
    if (e.event !== 'alarm.updated') return;
    if (a.change !== 'console_alert' || a.console?.stationId !== desk.stationId || a.state !== 'open') return;
    this.#answer(desk, a, a.console.step === 0 ? Date.parse(a.raisedAt) : this.now());
  }

  /** The desk answers an alarm its console showed: an acknowledgement after its answer time from `from`, then the close. */
  #answer(desk: Desk, a: AlarmData, from: number): void {
    this.onAlertSeen?.(a.id, desk.stationId);
    const key = `${desk.stationId} ${a.id}`;
    if (this.#handled.has(key)) return;
    this.#handled.add(key);
    const at = from + answerSeconds(this.#rng, desk.level, a.severity, from) * 1000;
    this.#schedule(at, desk, async () => {
      if (desk.away) return void this.#handled.delete(key);
      const res = await this.#call(desk, `/api/v1/alarms/${a.id}/ack`, {});
      this.log.push({ at: this.now(), desk: desk.name, action: 'ack', alarmId: a.id, result: res });
      if (res !== 'done' || FAULTS.has(a.type)) return;
      this.#schedule(this.now() + (3 + this.#rng.next() * 17) * 60_000, desk, async () => {
        const closed = await this.#call(desk, `/api/v1/alarms/${a.id}/resolve`, { outcome: outcomeFor(this.#rng, a.type) });
        this.log.push({ at: this.now(), desk: desk.name, action: 'resolve', alarmId: a.id, result: closed });
      });
    });
  }

  #leave(desk: Desk): Promise<void> {
    desk.away = true;
    desk.stream?.abort();
    desk.stream = undefined;
    desk.blind = undefined;
    // Answers the desk had not yet given are not given: it left.
    const kept = this.#pending.filter((p) => p.desk !== desk || p.started !== undefined || p.kind === 'shift');
    this.#pending.splice(0, this.#pending.length, ...kept);
    for (const key of [...this.#handled]) if (key.startsWith(`${desk.stationId} `)) this.#handled.delete(key);
    this.log.push({ at: this.now(), desk: desk.name, action: 'away', result: 'done' });
    this.#covered.add(desk.stationId);
    const street = this.#desks.find((d) => d.level === 'street');
    return street ? this.#catchUp(street, [desk.stationId]) : Promise.resolve();
  }

  #back(desk: Desk): Promise<void> {
    desk.away = false;
    this.#covered.delete(desk.stationId);
    this.log.push({ at: this.now(), desk: desk.name, action: 'back', result: 'done' });
    this.#open(desk);
    return Promise.resolve();
  }

  /** A press of a button in the console or on the family page; pressed again while the gateway cannot be reached (for up to 30 s). */
  async #call(person: Person, path: string, body: unknown, again = true, tries = 0): Promise<StaffAction['result']> {
    try {
      const res = await fetch(`${this.api.target.apiUrl}${path}`, { method: 'POST', headers: { authorization: `Bearer ${person.token}`, 'content-type': 'application/json' }, body: JSON.stringify(body) });
      await res.arrayBuffer();
      if (res.status === 401 && again) {
        await this.#login(person);
        return this.#call(person, path, body, false, tries);
      }
      return res.ok ? 'done' : res.status === 409 ? 'already' : 'failed';
    } catch {
      if (this.#stopped || tries >= 300) return 'failed';
      await new Promise((r) => setTimeout(r, 100));
      return this.#call(person, path, body, again, tries + 1);
    }
  }
}
