import type { Alarm } from '../../core/alarm.ts';
import type { Channel } from './channel.ts';

/** The live stream's side of console delivery (api/live.ts). */
export interface ConsoleAlerts {
  /** Writes the alert to every client that sees the alarm; returns how many consoles of `stationId` received it (on every node, with several). */
  alertConsoles(alarm: Alarm, stationId: string, event: string, step: number): number | Promise<number>;
}

/**
 * The station's duty console: the live stream (SSE) carries the alert to every
 * open console of that station. Delivered means received by at least one
 * console; with none open, nobody there saw it and the delivery has failed
 * (retried while the alarm is open, and the ladder moves on).
 */
export function consoleChannel(consoles: ConsoleAlerts): Channel {
  return {
    name: 'console',
    async send(item, _body, alarm) {
      if (item.delivery.channel !== 'console') throw new Error('not a console delivery');
      const n = await consoles.alertConsoles(alarm, item.delivery.target.id, item.event, item.step);
      if (n === 0) throw new Error('no console of the station is open');
      return { consoles: n };
    },
  };
}
