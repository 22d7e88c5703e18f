import { ALARM_NOTICES, type Alarm, type AlarmNotice } from '../core/alarm.ts';
import type { Logger } from '../core/logger.ts';
import { parseNotice as parse, type SqlClient } from '../store/sql-client.ts';
import type { LiveStream } from './live.ts';

/**
 * The live stream across nodes (several nodes on one PostgreSQL database):
 * each alarm change is announced by the alarm service inside its transaction
 * (NOTIFY, a few bytes: which alarm, what happened; delivered with the
 * commit, so a node killed just after it cannot leave the others unaware);
 * each one another node announces is read from
 * the database and written to this node's clients, in the order announced.
 * So an operator's console shows every alarm in their scope whichever node
 * the device's SOS came in on. Nothing on the embedded database (one node).
 */
export async function relayLiveStream(deps: { sql: SqlClient; live: LiveStream; alarms: { get(id: string): Promise<Alarm | undefined> }; log: Logger }): Promise<void> {
  const { sql, live, alarms, log } = deps;
  if (!sql.listen || !sql.notify) return;
  // One at a time, so an alarm's raise is written before the changes that follow it.
  let chain: Promise<void> = Promise.resolve();
  await sql.listen(ALARM_NOTICES, (payload) => {
    // null: reconnected; what was missed is in GET /alarms, the stream goes on from here.
    const notice = parse<AlarmNotice>(payload);
    if (!notice) return;
    chain = chain
      .then(async () => {
        const alarm = await alarms.get(notice.id);
        if (alarm) live.fromAnotherNode(notice.event, alarm, notice.change);
      })
      .catch((err: unknown) => log.warn({ err, alarmId: notice.id }, 'could not read an alarm another node changed'));
  });
}

/** The live stream's console alerts (api/live.ts), as the console channel asks for them. */
interface LocalConsoles {
  alertConsoles(alarm: Alarm, stationId: string, event: string, step: number): number;
}

/**
 * A duty console's alert across nodes: written to this node's consoles and
 * announced to the others, which write it to theirs and say how many of the
 * station's consoles received it. The delivery counts them all: when no
 * console here took it, the answers are awaited for up to `windowMs` (the
 * first console found ends the wait), so a console open on another node is a
 * delivery, not a failure that moves the ladder on. Without another node (the
 * embedded database), only this node's consoles.
 */
export class ConsoleRelay {
  readonly #sql: SqlClient;
  readonly #live: LocalConsoles;
  readonly #alarms: { get(id: string): Promise<Alarm | undefined> };
  readonly #log: Logger;
  readonly #windowMs: number;
  readonly #waiting = new Map<string, { consoles: number; found: () => void }>();
  #listening = false;

  constructor(deps: { sql: SqlClient; live: LocalConsoles; alarms: { get(id: string): Promise<Alarm | undefined> }; log: Logger; windowMs?: number }) {
    this.#sql = deps.sql;
    this.#live = deps.live;
    this.#alarms = deps.alarms;
    this.#log = deps.log;
    this.#windowMs = deps.windowMs ?? 500;
  }

  /** Starts answering the other nodes' alerts and hearing their answers (PostgreSQL only). */
  async start(): Promise<void> {
    const sql = this.#sql;
    if (!sql.listen || !sql.notify) return;
    await sql.listen('carebell_console', (payload) => {
      const ask = parse<{ request: string; alarmId: string; stationId: string; event: string; step: number }>(payload);
      if (!ask) return;
      void this.#alarms
        .get(ask.alarmId)
        .then((alarm) => {
          const consoles = alarm ? this.#live.alertConsoles(alarm, ask.stationId, ask.event, ask.step) : 0;
          return sql.notify!('carebell_console_seen', JSON.stringify({ request: ask.request, consoles }));
        })
        .catch((err: unknown) => this.#log.warn({ err, alarmId: ask.alarmId }, "could not pass on another node's console alert"));
    });
    await sql.listen('carebell_console_seen', (payload) => {
      const seen = parse<{ request: string; consoles: number }>(payload);
      if (!seen || typeof seen.consoles !== 'number') return;
      const waiting = this.#waiting.get(seen.request);
      if (!waiting) return;
      waiting.consoles += seen.consoles;
      if (waiting.consoles > 0) waiting.found();
    });
    this.#listening = true;
  }

  async alertConsoles(alarm: Alarm, stationId: string, event: string, step: number): Promise<number> {
    const here = this.#live.alertConsoles(alarm, stationId, event, step);
    if (!this.#listening) return here;
    const request = `${alarm.id}:${event}:${step}:${Math.random().toString(36).slice(2, 10)}`;
    let found!: () => void;
    const anyFound = new Promise<void>((resolve) => (found = resolve));
    const waiting = { consoles: 0, found };
    this.#waiting.set(request, waiting);
    try {
      await this.#sql.notify!('carebell_console', JSON.stringify({ request, alarmId: alarm.id, stationId, event, step }));
      if (here > 0) return here; // seen here: the others are told, no need to wait for them
      let timer: NodeJS.Timeout | undefined;
      await Promise.race([anyFound, new Promise<void>((resolve) => (timer = setTimeout(resolve, this.#windowMs)))]);
      clearTimeout(timer);
      return waiting.consoles;
    } catch (err) {
      this.#log.warn({ err, alarmId: alarm.id }, 'could not ask the other nodes for their consoles');
      return here;
    } finally {
      this.#waiting.delete(request);
    }
  }
}
