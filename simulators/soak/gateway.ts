import { fork, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Target } from '../runner.ts';
import { RunClock } from '../simulate.ts';

/** What the soak tells its gateway process (gateway-child.ts). */
export type ToChild =
  /** `begun`: time is already running (a restart): the gateway's clock is the soak's from the first instant. */
  | { type: 'start'; speed: number; start: number; dataDir: string; token: string; httpPort: number; mqttPort: number; settings: Record<string, string>; begun?: { epochMs: number; sim: number }; hold?: number }
  /** The clock may not pass this simulated instant (null: no hold). */
  | { type: 'hold'; at: number | null }
  | { type: 'begin'; at: { epochMs: number; sim: number } }
  /** The people have seen this console alert (or nobody will): the gateway's clock may go on. */
  | { type: 'seen'; key: string }
  | { type: 'flush' }
  | { type: 'close' };
export type ToParent =
  | { type: 'ready'; httpPort: number; mqttPort: number }
  | { type: 'failed'; message: string }
  /** The gateway's clock, as it was just now (sent as it moves, every millisecond). */
  | { type: 'now'; at: number }
  /** A console alert is on its way to a desk (`key`: alarm and station); `gone`: it reached no open console after all. */
  | { type: 'alert'; key: string; gone?: boolean }
  | { type: 'flushed' }
  | { type: 'closed' };

/** How long (real ms) the clocks wait for a console alert to be seen before going on without it. */
export const ALERT_WAIT_MS = 1_000;
export const alertKey = (alarmId: string, stationId: string) => `${alarmId} ${stationId}`;

/**
 * Console alerts on their way to the people, each held from the simulated
 * instant it was written until a desk has seen it or `waitMs` of real time
 * passed. Both sides keep one: the soak (gateway.ts) and its gateway (gateway-child.ts).
 */
export class AlertHolds {
  readonly #alerts = new Map<string, { at: number; real: number }>();
  constructor(readonly waitMs: number) {}
  add(key: string, at: number): void {
    this.#alerts.set(key, { at, real: performance.now() });
  }
  delete(key: string): boolean {
    return this.#alerts.delete(key);
  }
  clear(): void {
    this.#alerts.clear();
  }
  /** The earliest instant still held (+∞: none); an alert waited for too long is let go, and `expired` told. */
  earliest(expired?: (key: string) => void): number {
    let min = Number.POSITIVE_INFINITY;
    if (this.#alerts.size === 0) return min;
    const real = performance.now();
    for (const [key, a] of this.#alerts) {
      if (real - a.real > this.waitMs) {
        this.#alerts.delete(key);
        expired?.(key);
      } else if (a.at < min) min = a.at;
    }
    return min;
  }
}

const root = fileURLToPath(new URL('../../', import.meta.url));
const entry = fileURLToPath(new URL('./gateway-child.ts', import.meta.url));

/**
 * The soak's gateway as a process of its own, on the soak's simulated time:
 * `clock` is the soak's (held by the devices' progress and the people's next
 * action), and the gateway's clock follows it, never past the hold it was
 * last sent (sent as it changes, checked every millisecond). `kill()` ends it
 * with SIGKILL; `restart()` starts it again on the same data directory and
 * ports, its clock going on from the soak's.
 */
export class GatewayProcess {
  readonly clock: RunClock;
  readonly target: Target;
  /** Times it was killed and started again. */
  restarts = 0;
  /** Why the process ended without being killed or closed (the run has failed). */
  crashed: string | undefined;
  onCrash: (() => void) | undefined;
  #child: ChildProcess | undefined;
  #ports = { http: 0, mqtt: 0 };
  #hold: () => number = () => Number.POSITIVE_INFINITY;
  /** Console alerts on their way to the people, from the instant the gateway's word of each arrived. */
  readonly #alerts = new AlertHolds(ALERT_WAIT_MS);
  /**
   * The gateway's clock as it last said: the soak's never runs ahead of it.
   * The gateway hears a device when a message arrives, by its own clock, which
   * follows the holds it is sent with the delay of a busy process: a message
   * sent by the soak's clock alone could arrive a simulated minute before its
   * time there, and a device seem silent longer than it was. -∞ while the
   * process starts (time waits for it); +∞ while it is down (nobody to wait for).
   */
  #gatewayNow = Number.NEGATIVE_INFINITY;
  /** Alerts the people saw before the gateway's word of them arrived (another pipe): not held for. */
  readonly #seen = new Set<string>();
  #sent: number | null | undefined;
  #closing = false;
  #pump: NodeJS.Timeout | undefined;
  readonly #dataDir = mkdtempSync(join(tmpdir(), 'carebell-soak-'));

  private constructor(
    readonly speed: number,
    readonly start: number,
    token: string,
    readonly settings: Record<string, string>,
  ) {
    this.clock = new RunClock(speed, start);
    this.target = { apiUrl: '', mqttUrl: '', token };
  }

  /** `settings`: the gateway's own (configSettings), e.g. `influxUrl`. */
  static async start(speed: number, start: number, settings: Record<string, string> = {}): Promise<GatewayProcess> {
    const g = new GatewayProcess(speed, start, randomBytes(24).toString('base64url'), settings);
    await g.#spawn(start);
    g.target.apiUrl = `http://127.0.0.1:${g.#ports.http}`;
    g.target.mqttUrl = `mqtt://127.0.0.1:${g.#ports.mqtt}`;
    g.#pump = setInterval(() => g.#sendHold(), 1);
    return g;
  }

  /** The gateway process's id (undefined while it is down). */
  get pid(): number | undefined {
    return this.#child?.pid;
  }

  /** Holds the soak's clock (and so the gateway's) at what `until` returns. */
  holdAt(until: () => number): void {
    this.#hold = () => Math.min(until(), this.#alertHold());
    this.clock.holdAt(() => Math.min(this.#hold(), this.#gatewayNow));
  }

  /** A desk's console showed an alarm: the alert's hold, if any, ends. */
  seen(alarmId: string, stationId: string): void {
    const key = alertKey(alarmId, stationId);
    if (this.#alerts.delete(key)) return this.#send({ type: 'seen', key });
    this.#seen.add(key);
    if (this.#seen.size > 10_000) this.#seen.delete(this.#seen.values().next().value!);
  }

  /**
   * The earliest alert still travelling to the people, if any: the gateway
   * hands an alarm to the consoles in real milliseconds that are simulated
   * seconds at high speed, so both clocks wait until a desk has seen it (or
   * ALERT_WAIT_MS passed: a console that is closing).
   */
  #alertHold(): number {
    return this.#alerts.earliest((key) => this.#send({ type: 'seen', key }));
  }

  #onAlert(m: Extract<ToParent, { type: 'alert' }>): void {
    if (m.gone) return void this.#alerts.delete(m.key);
    if (this.#seen.delete(m.key)) return this.#send({ type: 'seen', key: m.key });
    this.#alerts.add(m.key, this.clock.now());
  }

  /** Time starts running, here and in the gateway. */
  begin(): void {
    this.clock.begin();
    this.#sendHold();
    this.#send({ type: 'begin', at: this.clock.begun! });
  }

  /** SIGKILL: no shutdown, no last write; resolves once the process is gone. */
  async kill(): Promise<void> {
    const child = this.#child;
    this.#child = undefined;
    this.#alerts.clear();
    this.#gatewayNow = Number.POSITIVE_INFINITY;
    if (!child || child.exitCode !== null || child.signalCode !== null) return;
    const gone = new Promise<void>((resolve) => child.once('exit', () => resolve()));
    child.kill('SIGKILL');
    await gone;
  }

  /** Starts it again on the same data and ports; its clock goes on from the soak's time now. */
  async restart(): Promise<void> {
    await this.#spawn(this.clock.now(), this.clock.begun);
    this.restarts++;
  }

  /** Writes the telemetry it holds in memory, and waits for a spool to be replayed (InfluxDB). */
  async flush(): Promise<void> {
    await this.#request({ type: 'flush' }, 'flushed');
  }

  async close(): Promise<void> {
    clearInterval(this.#pump);
    this.#closing = true;
    if (this.#child && this.#child.exitCode === null && this.#child.signalCode === null) {
      const child = this.#child;
      const gone = new Promise<void>((resolve) => child.once('exit', () => resolve()));
      this.#send({ type: 'close' });
      await Promise.race([gone, new Promise((r) => setTimeout(r, 15_000).unref())]);
      if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
    }
    rmSync(this.#dataDir, { recursive: true, force: true });
  }

  #sendHold(): void {
    if (!this.#child?.connected) return;
    const h = this.#hold();
    const at = Number.isFinite(h) ? h : null;
    if (at === this.#sent) return;
    this.#sent = at;
    this.#send({ type: 'hold', at });
  }

  #send(m: ToChild): void {
    if (this.#child?.connected) this.#child.send(m);
  }

  #request(m: ToChild, answer: ToParent['type']): Promise<void> {
    const child = this.#child;
    if (!child?.connected) return Promise.resolve();
    return new Promise((resolve) => {
      const on = (r: ToParent) => {
        if (r.type !== answer) return;
        child.off('message', on);
        resolve();
      };
      child.on('message', on);
      child.once('exit', () => resolve());
      child.send(m);
    });
  }

  #spawn(at: number, begun?: { epochMs: number; sim: number }): Promise<void> {
    const child = fork(entry, [], { cwd: root, execArgv: ['--import', 'tsx'], stdio: ['ignore', 'inherit', 'inherit', 'ipc'] });
    this.#child = child;
    this.#sent = undefined;
    this.#gatewayNow = Number.NEGATIVE_INFINITY;
    return new Promise((resolve, reject) => {
      const onExit = (code: number | null) => reject(new Error(`the soak's gateway exited (${code}) before it was ready`));
      child.once('exit', onExit);
      child.on('message', (m: ToParent) => {
        if (m.type === 'now') return void (this.#gatewayNow = Math.max(this.#gatewayNow, m.at));
        if (m.type === 'alert') return this.#onAlert(m);
        if (m.type === 'failed') reject(new Error(`the soak's gateway did not start: ${m.message}`));
        if (m.type !== 'ready') return;
        child.off('exit', onExit);
        // Gone without being killed: the run cannot go on (its clock would wait for the gateway for ever).
        child.once('exit', (code, signal) => {
          if (this.#child !== child || this.#closing) return;
          this.crashed = `the soak's gateway exited on its own (${signal ?? code})`;
          this.#gatewayNow = Number.POSITIVE_INFINITY;
          this.onCrash?.();
        });
        this.#ports = { http: m.httpPort, mqtt: m.mqttPort };
        resolve();
      });
      child.send({ type: 'start', speed: this.speed, start: this.start, dataDir: this.#dataDir, token: this.target.token, httpPort: this.#ports.http, mqttPort: this.#ports.mqtt, settings: this.settings, ...(begun ? { begun, hold: at } : {}) } satisfies ToChild);
    });
  }
}
