import type { EventBus } from '../../core/event-bus.ts';
import type { Channel } from './channel.ts';

/** The station's console: the live stream (SSE) carries the alert to every open console of that station. */
export function consoleChannel(bus: EventBus): Channel {
  return {
    name: 'console',
    async send(item, _body, alarm) {
      if (item.delivery.channel !== 'console') throw new Error('not a console delivery');
      bus.emit('alarm.console', { alarm, stationId: item.delivery.target.id, event: item.event, step: item.step });
    },
  };
}
