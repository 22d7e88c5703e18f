import { spawn } from 'node:child_process';
import { createServer as createHttpServer, type Server as HttpServer } from 'node:http';
import { connect as tcpConnect, createServer, type AddressInfo, type Server, type Socket } from 'node:net';
import { Aedes } from 'aedes';
import mqtt, { type MqttClient } from 'mqtt';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { HAPROXY, HAPROXY_CONFIG as CONFIG, startHaproxy } from '../helpers/haproxy.ts';
import { run } from '../helpers/processes.ts';

/** A broker standing in for a gateway node's MQTT port: records the client ids that reach it. */
async function node(name: string) {
  const aedes = await Aedes.createBroker();
  const sockets = new Set<Socket>();
  let accepted = 0;
  const server: Server = createServer((socket) => {
    // Connections that carry bytes (HAProxy's health checks connect and close without a word).
    socket.once('data', () => accepted++);
    sockets.add(socket);
    socket.once('close', () => sockets.delete(socket));
    aedes.handle(socket);
  });
  const seen: string[] = [];
  aedes.on('client', (c) => seen.push(c.id));
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
  const http: HttpServer = createHttpServer((req, res) => res.writeHead(req.url === '/readyz' ? 200 : 404, { 'content-type': 'text/plain' }).end(name));
  await new Promise<void>((r) => http.listen(0, '127.0.0.1', () => r()));
  return {
    name,
    seen,
    /** Connections HAProxy passed to this node that carried bytes. */
    accepted: () => accepted,
    mqtt: `127.0.0.1:${(server.address() as AddressInfo).port}`,
    http: `127.0.0.1:${(http.address() as AddressInfo).port}`,
    connected: () => new Set(Object.keys((aedes as unknown as { clients: Record<string, unknown> }).clients)),
    /** Dies: every connection dropped, nothing listening any more. */
    async kill() {
      for (const s of sockets) s.destroy();
      await new Promise<void>((r) => server.close(() => r()));
      await new Promise<void>((r) => http.close(() => r()));
      await new Promise<void>((r) => aedes.close(() => r()));
    },
  };
}

const connect = (url: string, clientId: string): Promise<MqttClient> =>
  new Promise((resolve, reject) => {
    const c = mqtt.connect(url, { clientId, protocolVersion: 4, reconnectPeriod: 0, connectTimeout: 5_000 });
    c.once('connect', () => resolve(c));
    c.once('error', (err) => (c.end(true), reject(err)));
    c.once('close', () => reject(new Error(`${clientId}: closed before CONNACK`)));
  });

/**
 * deploy/haproxy.cfg with Debian's HAProxy in front of three MQTT brokers:
 * each device lands on one node by its client id and keeps landing there when
 * it reconnects; when a node dies, only its devices move, and they find a
 * survivor. (The brokers stand in for gateway nodes' MQTT ports.)
 */
describe('HAProxy in front of the nodes: MQTT by client id', () => {
  let nodes: Array<Awaited<ReturnType<typeof node>>>;
  let haproxy: Awaited<ReturnType<typeof startHaproxy>>;
  let url: string;
  let httpUrl: string;
  let env: Record<string, string>;
  const ids = Array.from({ length: 30 }, (_, i) => `pendant-${String(i).padStart(4, '0')}`);
  const where = (id: string) => nodes.find((n) => n.connected().has(id))?.name;

  beforeAll(async () => {
    nodes = await Promise.all(['node1', 'node2', 'node3'].map(node));
    haproxy = await startHaproxy(nodes);
    env = haproxy.env;
    url = haproxy.mqttUrl;
    httpUrl = haproxy.httpUrl;
  }, 30_000);

  afterAll(async () => {
    await haproxy?.stop();
    for (const n of nodes ?? []) await n.kill().catch(() => {});
  });

  it('the shipped configuration is valid for HAProxy', async () => {
    const check = await run(HAPROXY, ['-c', '-f', CONFIG], { timeoutMs: 10_000 });
    // Without the nodes' addresses it says so; with them it is valid.
    expect(check.code).not.toBe(0);
    const withEnv = await new Promise<number | null>((resolve) => spawn(HAPROXY, ['-c', '-f', CONFIG], { env: { ...process.env, ...env }, stdio: 'ignore' }).once('exit', resolve));
    expect(withEnv).toBe(0);
  });

  it('spreads devices over the nodes by client id, and a device reconnecting lands where it was', async () => {
    const clients = await Promise.all(ids.map((id) => connect(url, id)));
    const first = new Map(ids.map((id) => [id, where(id)]));
    expect([...first.values()].every((n) => n !== undefined)).toBe(true);
    const perNode = nodes.map((n) => [...first.values()].filter((x) => x === n.name).length);
    expect(perNode.every((count) => count > 0), `devices per node: ${perNode.join(', ')}`).toBe(true);
    for (const round of [1, 2]) {
      await Promise.all(clients.splice(0).map((c) => c.endAsync()));
      await expect.poll(() => nodes.reduce((n, x) => n + x.connected().size, 0)).toBe(0);
      clients.push(...(await Promise.all(ids.map((id) => connect(url, id)))));
      expect(new Map(ids.map((id) => [id, where(id)])), `reconnect ${round}`).toEqual(first);
    }
    // Something that is not MQTT is refused at the door: closed by HAProxy, never passed to a node.
    const opened = nodes.map((n) => n.accepted());
    await new Promise<void>((resolve) => {
      const s = tcpConnect(Number(env.CAREBELL_HAPROXY_MQTT_PORT), '127.0.0.1', () => s.write('GET / HTTP/1.1\r\n\r\n'));
      s.once('close', () => resolve());
      s.once('error', () => resolve());
    });
    expect(nodes.map((n) => n.accepted())).toEqual(opened);
    await Promise.all(clients.map((c) => c.endAsync()));
  });

  it('when a node dies, only its devices move, to the survivors; the others keep their node and their connection', async () => {
    const clients = new Map(await Promise.all(ids.map(async (id) => [id, await connect(url, id)] as const)));
    const before = new Map(ids.map((id) => [id, where(id)]));
    const victim = nodes[1]!;
    const moved = ids.filter((id) => before.get(id) === victim.name);
    const stayed = ids.filter((id) => before.get(id) !== victim.name);
    expect(moved.length).toBeGreaterThan(0);
    const closed = moved.map((id) => new Promise<void>((r) => clients.get(id)!.once('close', () => r())));
    await victim.kill();
    await Promise.all(closed);
    // They reconnect (as firmware does) and find a survivor.
    for (const id of moved) {
      let client: MqttClient | undefined;
      await expect.poll(async () => (client = await connect(url, id).catch(() => undefined)) !== undefined, { timeout: 10_000 }).toBe(true);
      clients.set(id, client!);
    }
    for (const id of moved) expect(['node1', 'node3']).toContain(where(id));
    for (const id of stayed) {
      expect(clients.get(id)!.connected, id).toBe(true);
      expect(where(id)).toBe(before.get(id));
    }
    // The API goes to a node that is up.
    const res = await fetch(`${httpUrl}/readyz`);
    expect(res.status).toBe(200);
    expect(['node1', 'node3']).toContain(await res.text());
    await Promise.all([...clients.values()].map((c) => c.endAsync(true)));
  }, 30_000);
});
