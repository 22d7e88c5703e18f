import type { DeviceBroker } from '../../broker/broker.ts';
import type { DeviceDirectory } from '../../devices/directory.ts';
import type { Channel } from './channel.ts';

/**
 * MQTT downlink: switches a station siren on (and off once a person has the
 * alarm), or tells the resident's own device that help is coming. Delivered when the broker accepted the command.
 */
export function mqttChannel(deps: { broker: DeviceBroker; directory: DeviceDirectory }): Channel {
  return {
    name: 'mqtt',
    async send(item, body) {
      if (item.delivery.channel !== 'mqtt') throw new Error('not an MQTT delivery');
      const device = deps.directory.get(item.delivery.target.id);
      if (!device) throw new Error(`device ${item.delivery.target.id} is not registered`);
      if (!deps.broker.isConnected(device.id)) throw new Error(`device ${device.id} is not connected`);
      const alert = item.event === 'alarm.raised' || item.event === 'alarm.escalated' || item.event === 'alarm.reminder';
      const command =
        item.delivery.target.role === 'siren'
          ? { cmd: 'siren', action: alert ? 'on' : 'off', alarmId: body.alarm.id, alarmType: body.alarm.type, severity: body.alarm.severity }
          : { cmd: 'alarm_received', alarmId: body.alarm.id, alarmType: body.alarm.type, message: 'help is coming' };
      await deps.broker.sendCommand(device, JSON.stringify(command));
    },
  };
}
