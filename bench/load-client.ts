import { connect, type Socket } from 'node:net';
import { parentPort, workerData } from 'node:worker_threads';
import mqttPacket from 'mqtt-packet';

/**
 * Load generator (runs in a worker thread): every device is a real TCP socket
 * that sends pre-encoded CONNECT and PUBLISH (QoS 1) frames and counts PUBACKs,
 * keeping `window` messages in flight per device.
 */
export interface LoadSpec {
  port: number;
  devices: Array<{ id: string; password: string; topic: string }>;
  messagesPerDevice: number;
  window: number;
  payload: (deviceIndex: number, messageIndex: number) => string;
}

interface WorkerInput {
  port: number;
  devices: Array<{ id: string; password: string; topic: string }>;
  messagesPerDevice: number;
  window: number;
  baseTs: number;
}

export interface LoadResult {
  connectMs: number;
  publishMs: number;
  acked: number;
  latenciesUs: number[];
}

function frames(input: WorkerInput, deviceIndex: number): Buffer[] {
  const d = input.devices[deviceIndex]!;
  const out: Buffer[] = [];
  for (let m = 0; m < input.messagesPerDevice; m++) {
    const payload = JSON.stringify({ ts: input.baseTs + m * 1000 + deviceIndex, hr: 60 + ((m + deviceIndex) % 40), spo2: 95 + (m % 5), battery: 90 - (m % 50) });
    out.push(mqttPacket.generate({ cmd: 'publish', topic: d.topic, payload, qos: 1, messageId: m + 1, dup: false, retain: false }));
  }
  return out;
}

async function run(input: WorkerInput): Promise<LoadResult> {
  const n = input.devices.length;
  const encoded = input.devices.map((_, i) => frames(input, i));
  const sockets: Socket[] = [];
  const parsers = input.devices.map(() => mqttPacket.parser({ protocolVersion: 4 }));

  const t0 = performance.now();
  await Promise.all(
    input.devices.map(
      (d, i) =>
        new Promise<void>((resolve, reject) => {
          const socket = connect({ port: input.port, host: '127.0.0.1', noDelay: true });
          sockets[i] = socket;
          const parser = parsers[i]!;
          const onConnack = (packet: mqttPacket.Packet) => {
            if (packet.cmd !== 'connack') return;
            parser.off('packet', onConnack);
            if ((packet as mqttPacket.IConnackPacket).returnCode !== 0) reject(new Error(`${d.id}: CONNACK ${(packet as mqttPacket.IConnackPacket).returnCode}`));
            else resolve();
          };
          parser.on('packet', onConnack);
          socket.on('data', (chunk) => parser.parse(chunk));
          socket.once('error', reject);
          socket.write(mqttPacket.generate({ cmd: 'connect', protocolId: 'MQTT', protocolVersion: 4, clean: true, clientId: d.id, username: d.id, password: Buffer.from(d.password), keepalive: 120 }));
        }),
    ),
  );
  const connectMs = performance.now() - t0;

  const latenciesUs: number[] = [];
  let acked = 0;
  parentPort?.postMessage({ publishing: true });
  const t1 = performance.now();
  await Promise.all(
    input.devices.map(
      (_, i) =>
        new Promise<void>((resolve) => {
          const socket = sockets[i]!;
          const deviceFrames = encoded[i]!;
          const sentAt = new Float64Array(deviceFrames.length + 1);
          let next = 0;
          let done = 0;
          const send = () => {
            const m = next++;
            sentAt[m + 1] = performance.now();
            socket.write(deviceFrames[m]!);
          };
          parsers[i]!.on('packet', (packet) => {
            if (packet.cmd !== 'puback') return;
            const id = (packet as mqttPacket.IPubackPacket).messageId!;
            latenciesUs.push((performance.now() - sentAt[id]!) * 1000);
            acked++;
            done++;
            if (next < deviceFrames.length) send();
            if (done === deviceFrames.length) resolve();
          });
          for (let w = 0; w < input.window && next < deviceFrames.length; w++) send();
        }),
    ),
  );
  const publishMs = performance.now() - t1;
  void n;
  // The connections stay up until the parent has taken its figures (it may still be storing),
  // so closing 1,000 sockets is not counted as ingest time.
  const close = () => {
    for (const s of sockets) s.destroy();
    parentPort?.postMessage({ closed: true });
  };
  parentPort?.once('message', close);
  return { connectMs, publishMs, acked, latenciesUs };
}

if (parentPort) {
  run(workerData as WorkerInput).then(
    (r) => parentPort!.postMessage({ ok: true, result: r }),
    (err) => parentPort!.postMessage({ ok: false, error: String(err?.stack ?? err) }),
  );
}
