import type { Logger } from '../../core/logger.ts';
import { parseNotice, type SqlClient } from '../../store/sql-client.ts';

/** The broker's side of a command: is the device connected here, and send it. */
export interface CommandSender {
  isConnected(deviceId: string): boolean;
  send(deviceId: string, payload: string): Promise<void>;
}

interface Ask {
  request: string;
  node: string;
  deviceId: string;
  payload: string;
}
interface Answer {
  request: string;
  error?: string;
}

/**
 * A command (a siren on or off, "help is coming" on the resident's device)
 * reaches the node that holds the device. Sent here when the device is
 * connected here; otherwise the node that took it last (device_owners) is
 * asked (NOTIFY), sends it and answers, and the answer is awaited for up to
 * `windowMs`. No answer, or the device on no node: the delivery fails and the
 * outbox tries again. On the embedded database there is one node.
 */
export class CommandRelay {
  readonly #sql: SqlClient;
  readonly #local: CommandSender;
  readonly #owner: (deviceId: string) => Promise<{ node: string } | undefined>;
  readonly #node: string;
  readonly #log: Logger;
  readonly #windowMs: number;
  readonly #waiting = new Map<string, (answer: Answer) => void>();
  #listening = false;

  constructor(deps: { sql: SqlClient; local: CommandSender; owner: (deviceId: string) => Promise<{ node: string } | undefined>; node: string; log: Logger; windowMs?: number }) {
    this.#sql = deps.sql;
    this.#local = deps.local;
    this.#owner = deps.owner;
    this.#node = deps.node;
    this.#log = deps.log;
    this.#windowMs = deps.windowMs ?? 2_000;
  }

  /** Starts answering other nodes' commands for devices connected here, and hearing their answers (PostgreSQL only). */
  async start(): Promise<void> {
    const sql = this.#sql;
    if (!sql.listen || !sql.notify) return;
    await sql.listen('carebell_command', (payload) => {
      const ask = parseNotice<Ask>(payload);
      if (!ask || ask.node !== this.#node || typeof ask.deviceId !== 'string' || typeof ask.payload !== 'string') return;
      const sent = this.#local.isConnected(ask.deviceId) ? this.#local.send(ask.deviceId, ask.payload) : Promise.reject(new Error(`device ${ask.deviceId} is not connected to node ${this.#node}`));
      void sent
        .then(
          () => ({ request: ask.request }),
          (err: unknown) => ({ request: ask.request, error: err instanceof Error ? err.message : String(err) }),
        )
        .then((answer) => sql.notify!('carebell_command_done', JSON.stringify(answer)))
        .catch((err: unknown) => this.#log.warn({ err, deviceId: ask.deviceId }, "could not answer another node's command"));
    });
    await sql.listen('carebell_command_done', (payload) => {
      const answer = parseNotice<Answer>(payload);
      if (answer && typeof answer.request === 'string') this.#waiting.get(answer.request)?.(answer);
    });
    this.#listening = true;
  }

  async send(deviceId: string, payload: string): Promise<void> {
    if (this.#local.isConnected(deviceId)) return this.#local.send(deviceId, payload);
    const owner = this.#listening ? await this.#owner(deviceId) : undefined;
    if (!owner || owner.node === this.#node) throw new Error(`device ${deviceId} is not connected`);
    const request = `${deviceId}:${Math.random().toString(36).slice(2, 12)}`;
    let timer: NodeJS.Timeout | undefined;
    const answered = new Promise<Answer | undefined>((resolve) => {
      this.#waiting.set(request, resolve);
      timer = setTimeout(() => resolve(undefined), this.#windowMs);
    });
    try {
      await this.#sql.notify!('carebell_command', JSON.stringify({ request, node: owner.node, deviceId, payload } satisfies Ask));
      const answer = await answered;
      if (!answer) throw new Error(`node ${owner.node}, which holds device ${deviceId}, did not answer in ${this.#windowMs} ms`);
      if (answer.error) throw new Error(answer.error);
    } finally {
      clearTimeout(timer);
      this.#waiting.delete(request);
    }
  }
}
