import { connect, type Socket } from 'node:net';
import { parentPort, workerData } from 'node:worker_threads';
import mqttPacket from 'mqtt-packet';

/**
 * Background telemetry (worker thread): devices on raw sockets publishing
 * pre-encoded QoS 0 frames at a steady total rate until told to stop.
 */
interface Input {
  port: number;
  devices: Array<{ id: string; password: string; topic: string }>;
  ratePerSecond: number;
  /** How often a share of the rate is sent: every 10 ms by default (100 messages at once at 10,000/s). */
  tickMs?: number;
}

async function main(input: Input): Promise<void> {
  const sockets: Socket[] = await Promise.all(
    input.devices.map(
      (d) =>
        new Promise<Socket>((resolve, reject) => {
          const socket = connect({ port: input.port, host: '127.0.0.1', noDelay: true });
          const parser = mqttPacket.parser({ protocolVersion: 4 });
          parser.on('packet', (p) => p.cmd === 'connack' && resolve(socket));
          socket.on('data', (c) => parser.parse(c));
          socket.once('error', reject);
          socket.write(mqttPacket.generate({ cmd: 'connect', protocolId: 'MQTT', protocolVersion: 4, clean: true, clientId: d.id, username: d.id, password: Buffer.from(d.password), keepalive: 120 }));
        }),
    ),
  );
  parentPort!.postMessage({ connected: sockets.length });
  let sent = 0;
  let next = 0;
  const tickMs = input.tickMs ?? 10;
  const perTick = Math.max(1, Math.round((input.ratePerSecond * tickMs) / 1000));
  const timer = setInterval(() => {
    for (let i = 0; i < perTick; i++) {
      const k = next++ % sockets.length;
      const payload = JSON.stringify({ ts: Date.now(), hr: 60 + (sent % 30), spo2: 97, battery: 80 });
      sockets[k]!.write(mqttPacket.generate({ cmd: 'publish', topic: input.devices[k]!.topic, payload, qos: 0, dup: false, retain: false }));
      sent++;
    }
  }, tickMs);
  parentPort!.on('message', (m) => {
    if (m !== 'stop') return;
    clearInterval(timer);
    for (const s of sockets) s.destroy();
    parentPort!.postMessage({ sent });
  });
}

if (parentPort) void main(workerData as Input);
