import { Aedes, type AedesPublishPacket, type Client, type Subscription } from 'aedes';
import { createServer, type Server, type Socket } from 'node:net';
import { createServer as createTlsServer, type TLSSocket } from 'node:tls';
import type { Duplex } from 'node:stream';
import type { IncomingMessage } from 'node:http';
import type { Clock } from '../core/clock.ts';
import type { EventBus } from '../core/event-bus.ts';
import type { Logger } from '../core/logger.ts';
import type { Metrics } from '../core/metrics.ts';
import { constantTimeEqual, sha256, verifySecret } from '../core/secrets.ts';
import type { DeviceDirectory, KnownDevice } from '../ingest/device-directory.ts';
import type { Ingest } from '../ingest/ingest.ts';
import { canPublish, canSubscribe } from './access.ts';

/** A device message as it arrived: what `carebell record` writes and `carebell replay` plays back. */
export interface TappedMessage {
  deviceId: string;
  profileId: string;
  topic: string;
  payload: Buffer;
  receivedAt: number;
}

export interface BrokerDeps {
  directory: DeviceDirectory;
  ingest: Ingest;
  bus: EventBus;
  clock: Clock;
  metrics: Metrics;
  log: Logger;
}

// MQTT 3.1.1 CONNACK return codes [MQTT-3.2.2.3].
const IDENTIFIER_REJECTED = 2;
const BAD_USERNAME_OR_PASSWORD = 4;
const NOT_AUTHORIZED = 5;

type AuthError = Error & { returnCode: number };
const authError = (code: number, message: string): AuthError => Object.assign(new Error(message), { returnCode: code });

/**
 * The device-facing MQTT broker: aedes with carebell's hooks. aedes' defaults
 * let everyone in and everyone publish anywhere; every hook is overridden.
 * authenticate → device registry (scrypt); authorizePublish → the device's own
 * topics, then ingest; authorizeSubscribe → the device's own topics.
 *
 * Ingest runs inside authorizePublish because it is the only hook aedes runs
 * before it writes the PUBACK (aedes 1.2 acknowledges QoS 1 before calling
 * `published`). So when a device hears its PUBACK, its message is recorded;
 * when recording fails, no PUBACK is sent and the device redelivers.
 */
export class DeviceBroker {
  #aedes!: Aedes;
  readonly #deps: BrokerDeps;
  /** The live session of each connected device. */
  readonly #sessions = new Map<string, Client>();
  readonly #servers = new Set<Server>();
  readonly #sockets = new Set<Socket>();

  private constructor(deps: BrokerDeps) {
    this.#deps = deps;
  }

  get aedes(): Aedes {
    return this.#aedes;
  }

  static async create(deps: BrokerDeps): Promise<DeviceBroker> {
    const broker = new DeviceBroker(deps);
    broker.#aedes = await Aedes.createBroker({
      // A device has 10 s from TCP connect to CONNECT, or is dropped.
      connectTimeout: 10_000,
      maxClientsIdLength: 64,
      authenticate: (client, username, password, done) => broker.authenticate(client, username, password, done),
      authorizePublish: (client, packet, done) => broker.authorizePublish(client, packet, done),
      authorizeSubscribe: (client, sub, done) => broker.authorizeSubscribe(client, sub, done),
    });
    broker.#wireLifecycle();
    broker.#routeOnlyWhenHeard();
    return broker;
  }

  #refuse(action: 'connect' | 'publish' | 'subscribe', clientId: string, reason: string, topic?: string): void {
    this.#deps.metrics.mqttRefusals.inc({ action, reason });
    this.#deps.log.warn({ action, clientId, reason, topic }, `mqtt ${action} refused: ${reason}`);
    this.#deps.bus.emit('broker.refused', topic === undefined ? { action, clientId, reason } : { action, clientId, reason, topic });
  }

  authenticate(client: Client, username: string | undefined, password: Buffer | undefined, done: (err: AuthError | null, ok: boolean | null) => void): void {
    const clientId = client.id ?? '';
    if (!username || !password) {
      this.#refuse('connect', clientId, 'no_credentials');
      return done(authError(BAD_USERNAME_OR_PASSWORD, 'username and password required'), false);
    }
    if (username !== clientId) {
      this.#refuse('connect', clientId, 'client_id_mismatch');
      return done(authError(IDENTIFIER_REJECTED, 'client id must equal the username (the device id)'), false);
    }
    const device = this.#deps.directory.get(username);
    if (!device) {
      this.#refuse('connect', clientId, 'unknown_device');
      return done(authError(BAD_USERNAME_OR_PASSWORD, 'bad username or password'), false);
    }
    if (device.decommissioned) {
      this.#refuse('connect', clientId, 'decommissioned');
      return done(authError(NOT_AUTHORIZED, 'device decommissioned'), false);
    }
    const secret = password.toString('utf8');
    const digest = sha256(`${device.secretHash}\u0000${secret}`);
    if (device.verifiedDigest !== undefined && constantTimeEqual(device.verifiedDigest, digest)) return done(null, true);
    verifySecret(secret, device.secretHash).then(
      (ok) => {
        if (ok) {
          device.verifiedDigest = digest;
          return done(null, true);
        }
        this.#refuse('connect', clientId, 'bad_password');
        done(authError(BAD_USERNAME_OR_PASSWORD, 'bad username or password'), false);
      },
      (err) => {
        this.#deps.log.error({ err, clientId }, 'secret verification failed');
        done(authError(BAD_USERNAME_OR_PASSWORD, 'bad username or password'), false);
      },
    );
  }

  authorizePublish(client: Client | null, packet: AedesPublishPacket | { topic: string; payload?: unknown }, done: (err?: Error | null) => void): void {
    if (!client) return done(null); // the gateway's own publications (commands to devices)
    const device = this.#deps.directory.get(client.id);
    const decision = device ? canPublish(device, packet.topic) : { allowed: false as const, reason: 'unknown_device' };
    if (!decision.allowed) {
      this.#refuse('publish', client.id, decision.reason, packet.topic);
      // MQTT 3.1.1 has no negative PUBACK: aedes closes the connection.
      return done(new Error(`publish to ${packet.topic} not allowed: ${decision.reason}`));
    }
    const raw = (packet as { payload?: unknown }).payload;
    const payload = Buffer.isBuffer(raw) ? raw : Buffer.from(typeof raw === 'string' ? raw : '');
    const current = this.#sessions.get(device!.id);
    const receivedAt = this.#deps.clock.now();
    if (this.tap) this.tap({ deviceId: device!.id, profileId: device!.profile.id, topic: packet.topic, payload, receivedAt });
    try {
      this.#deps.ingest.handle({
        device: device!,
        topic: packet.topic,
        payload,
        receivedAt,
        superseded: current !== undefined && current !== client,
      });
    } catch (err) {
      // The gateway could not record the message (e.g. the disk is full). No PUBACK:
      // aedes drops the connection and the device redelivers its QoS 1 message later.
      this.#deps.metrics.ingestFailures.inc();
      this.#deps.log.error({ err, deviceId: device!.id, topic: packet.topic }, 'ingest failed; message not acknowledged');
      return done(err as Error);
    }
    done(null);
  }

  authorizeSubscribe(client: Client, sub: Subscription, done: (err: Error | null, sub?: Subscription | null) => void): void {
    const device = this.#deps.directory.get(client.id);
    const decision = device ? canSubscribe(device, sub.topic) : { allowed: false as const, reason: 'unknown_device' };
    if (decision.allowed) {
      // Anything but its command topic may match the device's own uplinks: from now on they are routed.
      if (sub.topic !== device!.profile.downlinkTopic(device!.id)) this.#hearsOwnUplinks.add(device!.id);
      return done(null, sub);
    }
    this.#refuse('subscribe', client.id, decision.reason, sub.topic);
    done(null, null); // SUBACK 0x80 for this filter [MQTT-3.9.3]; the connection stays up.
  }

  /**
   * Device uplinks are consumed by the gateway, in authorizePublish, before
   * aedes acknowledges them. Routing them on through aedes' pub/sub (offline
   * queues, subscription match, the 'publish' event) only matters when some
   * client can receive them, and the only clients that may subscribe to a
   * device's uplink topics are that device itself (see canSubscribe). So a
   * device's message is routed only once the device has subscribed to a
   * filter other than its command topic, or when it is retained; otherwise
   * aedes' publish ends at once. A device's last will goes the same way (aedes
   * runs authorizePublish for it too, so ingest has it). The gateway's own
   * publications (commands, $SYS) come without a client and are always routed.
   */
  #routeOnlyWhenHeard(): void {
    type Publish = (packet: AedesPublishPacket, client: Client | null | ((err?: Error) => void), done?: (err?: Error | null) => void) => void;
    const aedes = this.#aedes as unknown as { publish: Publish };
    const route = aedes.publish.bind(this.#aedes);
    aedes.publish = (packet, client, done) => {
      if (done !== undefined && client !== null && typeof client === 'object' && !packet.retain && !this.#hearsOwnUplinks.has(client.id) && this.#sessions.has(client.id)) {
        return done(null);
      }
      route(packet, client, done);
    };
  }

  /** Devices that subscribed to a filter that may match their own uplinks (their echo is routed). */
  readonly #hearsOwnUplinks = new Set<string>();

  #wireLifecycle(): void {
    const { directory, metrics, log } = this.#deps;
    this.aedes.on('client', (client) => {
      const device = directory.get(client.id);
      if (!device) return;
      this.#sessions.set(device.id, client);
      metrics.connectedDevices.set(this.#sessions.size);
      directory.setOnline(device, true, 'connected');
    });
    this.aedes.on('clientDisconnect', (client) => {
      const device = directory.get(client.id);
      if (!device || this.#sessions.get(device.id) !== client) return; // a session replaced by a newer one
      this.#sessions.delete(device.id);
      metrics.connectedDevices.set(this.#sessions.size);
      directory.setOnline(device, false, 'disconnected');
    });
    this.aedes.on('clientError', (client, err) => log.debug({ clientId: client.id, err: err.message }, 'mqtt client error'));
    this.aedes.on('connectionError', (client, err) => log.debug({ clientId: client?.id, err: err.message }, 'mqtt connection error'));
  }

  /** Closes a device's connection (its secret was rotated, or it was decommissioned). */
  disconnect(deviceId: string): boolean {
    const client = this.#sessions.get(deviceId);
    if (!client) return false;
    client.close();
    return true;
  }

  isConnected(deviceId: string): boolean {
    return this.#sessions.has(deviceId);
  }

  /** Sends a command to a device on its profile's downlink topic. */
  sendCommand(device: KnownDevice, payload: Buffer | string, qos: 0 | 1 = 1): Promise<void> {
    const topic = device.profile.downlinkTopic(device.id);
    if (!topic) return Promise.reject(new Error(`profile ${device.profile.id} has no downlink topic`));
    return new Promise((resolve, reject) =>
      this.aedes.publish(
        { cmd: 'publish', topic, payload: typeof payload === 'string' ? Buffer.from(payload) : payload, qos, retain: false, dup: false },
        (err?: Error | null) => (err ? reject(err) : resolve()),
      ),
    );
  }

  /** Serves MQTT over TCP. Nagle is off: device messages are small and latency matters. */
  /** Sees every message a device is allowed to publish, before ingest (`carebell record`); unset on the hot path otherwise. */
  tap: ((m: TappedMessage) => void) | undefined;

  /** True once a device listener (TCP or TLS) accepts connections. */
  listening(): boolean {
    return [...this.#servers].some((s) => s.listening);
  }

  listenTcp(port: number, host: string): Promise<Server> {
    return this.#listen(createServer((socket) => this.#accept(socket)), port, host);
  }

  /** Serves MQTT over TLS (mqtts) with the given PEM certificate chain and key. */
  listenTls(port: number, host: string, tls: { cert: Buffer; key: Buffer }): Promise<Server> {
    const server = createTlsServer({ cert: tls.cert, key: tls.key, minVersion: 'TLSv1.2' }, (socket: TLSSocket) => this.#accept(socket));
    // A failed handshake (wrong CA, plain MQTT on the TLS port) is the client's problem, not the gateway's.
    server.on('tlsClientError', (err) => this.#deps.log.debug({ err: err.message }, 'mqtts handshake failed'));
    return this.#listen(server, port, host);
  }

  #accept(socket: Socket): void {
    socket.setNoDelay(true);
    this.#sockets.add(socket);
    socket.once('close', () => this.#sockets.delete(socket));
    this.aedes.handle(socket);
  }

  #listen(server: Server, port: number, host: string): Promise<Server> {
    this.#servers.add(server);
    return new Promise((resolve, reject) => {
      server.once('error', reject);
      server.listen(port, host, () => {
        server.off('error', reject);
        resolve(server);
      });
    });
  }

  /** Serves MQTT over an already-upgraded WebSocket stream. */
  handleStream(stream: Duplex, req?: IncomingMessage): void {
    this.aedes.handle(stream, req);
  }

  /** Stops accepting, disconnects every device, closes the broker. */
  async close(): Promise<void> {
    for (const server of this.#servers) server.close();
    await new Promise<void>((resolve) => this.aedes.close(() => resolve()));
    for (const socket of this.#sockets) socket.destroy();
    await Promise.all([...this.#servers].map((s) => new Promise<void>((r) => (s.listening ? s.close(() => r()) : r()))));
    this.#servers.clear();
  }
}
