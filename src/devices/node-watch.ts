import type { Logger } from '../core/logger.ts';
import { errorMessage } from '../core/errors.ts';

/** What the watch needs of the store (store/nodes.ts). */
export interface NodeList {
  /** False when the node was not on the list. */
  beat(node: string, at: number): Promise<boolean>;
  silentSince(before: number): Promise<string[]>;
  adopt(from: string, to: string, at: number, before?: number): Promise<Array<{ deviceId: string; epoch: number }>>;
}

export interface NodeWatchDeps {
  nodes: NodeList;
  node: string;
  timeoutMs: number;
  /** Holds the adopted devices at their new epochs (the rule evaluator). */
  adopt: (devices: Array<{ deviceId: string; epoch: number }>) => Promise<void>;
  /** This node was taken for dead by another (it could not beat for too long): takes back the devices connected here. */
  reclaimConnected: () => Promise<void>;
  log: Logger;
  /** Wall-clock time (default Date.now). */
  now?: () => number;
}

/**
 * Several nodes on one database: this node's heartbeat, and the adoption of
 * a dead node's devices. A device of a node that died usually reconnects to
 * a survivor, which takes it; one that does not (switched off, out of
 * coverage, broken) would have nobody watching its silence, and its
 * `device_offline` alarm would never come. So every node beats every fifth
 * of `timeoutMs`, and a node not heard for `timeoutMs` (wall-clock time) is
 * taken for dead: the first survivor to notice adopts its devices (a new
 * epoch each, their rule state read again), and their rules, silence first,
 * run there until each connects somewhere. At start, a node takes back what
 * it held before it stopped.
 */
export class NodeWatch {
  readonly #d: NodeWatchDeps;
  #timer: NodeJS.Timeout | undefined;
  #checking: Promise<void> | undefined;
  /** Devices adopted from nodes that died, since start. */
  adopted = 0;

  constructor(deps: NodeWatchDeps) {
    this.#d = deps;
  }

  #now(): number {
    return (this.#d.now ?? Date.now)();
  }

  /** Beats once, takes back what this node held before it stopped, then beats and watches the others every fifth of the timeout. */
  async start(): Promise<void> {
    const { nodes, node } = this.#d;
    await nodes.beat(node, this.#now());
    const own = await nodes.adopt(node, node, this.#now());
    await this.#d.adopt(own);
    if (own.length > 0) this.#d.log.info({ devices: own.length }, 'took back the devices this node held before it stopped: their silence is watched here until they connect');
    this.#timer = setInterval(() => void this.check(), Math.max(200, Math.round(this.#d.timeoutMs / 5)));
    this.#timer.unref();
  }

  /** One beat and one look at the others (one at a time). */
  check(): Promise<void> {
    return (this.#checking ??= this.#check().finally(() => (this.#checking = undefined)));
  }

  async #check(): Promise<void> {
    const { nodes, node, timeoutMs, log } = this.#d;
    try {
      const now = this.#now();
      // Off the list: this node could not beat for too long (the database out of reach), was taken for dead,
      // and its devices were adopted while still connected here. They are taken back.
      if (!(await nodes.beat(node, now))) {
        log.warn({ timeoutSeconds: timeoutMs / 1000 }, 'this node was taken for dead by another: taking back the devices connected here');
        await this.#d.reclaimConnected();
      }
      for (const dead of await nodes.silentSince(now - timeoutMs)) {
        if (dead === node) continue;
        const devices = await nodes.adopt(dead, node, now, now - timeoutMs);
        await this.#d.adopt(devices);
        this.adopted += devices.length;
        log.warn({ deadNode: dead, devices: devices.length, timeoutSeconds: timeoutMs / 1000 }, 'a node was not heard from: its devices are adopted here (their silence is watched until they connect)');
      }
    } catch (err) {
      // The database out of reach: every node misses its beats alike; the next check tries again.
      log.warn({ error: errorMessage(err) }, 'node heartbeat or adoption failed; trying again');
    }
  }

  async close(): Promise<void> {
    clearInterval(this.#timer);
    await this.#checking;
  }
}
