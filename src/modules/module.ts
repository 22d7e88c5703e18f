import type { Clock } from '../core/clock.ts';
import type { EventBus } from '../core/event-bus.ts';
import type { Logger } from '../core/logger.ts';
import type { Metrics } from '../core/metrics.ts';

/**
 * The gateway is composed of modules (app.ts). Each is a function that takes
 * what it needs, by name, and returns what it offers, with its own `close`
 * when it holds timers, sockets or files. app.ts builds them in dependency
 * order and closes them in the shutdown order it states.
 */
export interface Closes {
  close(): Promise<void> | void;
}

/** What every module may use: time, logs, metrics and the bus of committed facts. */
export interface Basics {
  clock: Clock;
  log: Logger;
  metrics: Metrics;
  bus: EventBus;
}
