import type { DeviceDirectory } from '../../devices/directory.ts';
import type { Channel } from './channel.ts';

/**
 * MQTT downlink: switches a station siren on (and off once a person has the
 * alarm), or tells the resident's own device that help is coming. Delivered
 * when the broker holding the device accepted the command: this node's, or
 * another node's (command-relay.ts).
 */
export function mqttChannel(deps: { commands: { send(deviceId: string, payload: string): Promise<void> }; directory: DeviceDirectory }): Channel {
  return {
    name: 'mqtt',
    async send(item, body) {
      if (item.delivery.channel !== 'mqtt') throw new Error('not an MQTT delivery');
      const device = deps.directory.get(item.delivery.target.id);
      if (!device) throw new Error(`device ${item.delivery.target.id} is not registered`);
      const alert = item.event === 'alarm.raised' || item.event === 'alarm.escalated' || item.event === 'alarm.reminder';
      const command =
        item.delivery.target.role === 'siren'
          ? { cmd: 'siren', action: alert ? 'on' : 'off', alarmId: body.alarm.id, alarmType: body.alarm.type, severity: body.alarm.severity }
          : { cmd: 'alarm_received', alarmId: body.alarm.id, alarmType: body.alarm.type, message: 'help is coming' };
      await deps.commands.send(device.id, JSON.stringify(command));
    },
  };
}
