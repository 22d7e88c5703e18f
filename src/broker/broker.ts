import { Aedes, type AedesPublishPacket, type Client, type Subscription } from 'aedes';
import { createServer, type Server, type Socket } from 'node:net';
import { createServer as createTlsServer, Server as TlsServer, type TLSSocket } from 'node:tls';
import type { Duplex } from 'node:stream';
import type { IncomingMessage } from 'node:http';
import type { Clock } from '../core/clock.ts';
import type { EventBus } from '../core/event-bus.ts';
import type { Logger } from '../core/logger.ts';
import type { Metrics } from '../core/metrics.ts';
import { LogLimiter } from '../core/log-limiter.ts';
import { hashDeviceSecret, isCurrentDeviceHash, verifyDeviceSecret, verifySecret } from '../core/secrets.ts';
import type { DeviceDirectory, KnownDevice } from '../devices/directory.ts';
import type { Ingest, IngestResult } from '../ingest/ingest.ts';
import { canPublish, canSubscribe } from './access.ts';
import { defaultLoginLimits, LoginGuard, type LoginLimits } from './login-guard.ts';
import { PacketGuard, type PacketLimits } from './packet-guard.ts';

/** A device message as it arrived: what `carebell record` writes and `carebell replay` plays back. */
export interface TappedMessage {
  deviceId: string;
  profileId: string;
  topic: string;
  payload: Buffer;
  receivedAt: number;
}

export interface BrokerLimits {
  /** Bytes per packet, checked from the fixed header before anything is buffered. */
  packets: PacketLimits;
  /** A device has this long from TCP connect to its CONNECT, or is dropped. */
  connectTimeoutMs: number;
  /** Largest retained payload kept on a device topic; a bigger one is ingested but not retained. */
  maxRetainedBytes: number;
  logins: LoginLimits;
}

export const defaultBrokerLimits: BrokerLimits = {
  packets: { connectBytes: 4_096, publishBytes: 16_384 + 1_024, otherBytes: 16_384 },
  connectTimeoutMs: 10_000,
  maxRetainedBytes: 1_024,
  logins: defaultLoginLimits,
};

export interface BrokerDeps {
  directory: DeviceDirectory;
  ingest: Ingest;
  bus: EventBus;
  clock: Clock;
  metrics: Metrics;
  log: Logger;
  limits?: Partial<BrokerLimits>;
  /**
   * Runs once a device has logged in, before its CONNACK, so before its first
   * message: with several nodes, this node takes the device (its epoch) and
   * reads its rule state. If it fails (the database out of reach), the device
   * is let in all the same: an SOS must find a way in, and its alarm does not
   * need the state.
   */
  admit?: (deviceId: string) => Promise<void>;
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
 * accept → packet guard (sizes checked from the fixed header, before buffering);
 * authenticate → device registry (salted HMAC of the secret, failed logins
 * tarpitted); authorizePublish → the device's own topics, then ingest;
 * authorizeSubscribe → the device's own topics.
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

  readonly #limits: BrokerLimits;
  readonly #logins: LoginGuard;
  readonly #logLimiter = new LogLimiter();

  private constructor(deps: BrokerDeps) {
    this.#deps = deps;
    this.#limits = { ...defaultBrokerLimits, ...deps.limits };
    this.#logins = new LoginGuard(this.#limits.logins);
  }

  /** Failed logins whose refusal is being held back now (see LoginGuard). */
  get loginsHeld(): number {
    return this.#logins.held;
  }

  get limits(): BrokerLimits {
    return this.#limits;
  }

  get aedes(): Aedes {
    return this.#aedes;
  }

  static async create(deps: BrokerDeps): Promise<DeviceBroker> {
    const broker = new DeviceBroker(deps);
    broker.#aedes = await Aedes.createBroker({
      connectTimeout: broker.#limits.connectTimeoutMs,
      maxClientsIdLength: 64,
      authenticate: (client, username, password, done) => broker.authenticate(client, username, password, done),
      authorizePublish: (client, packet, done) => broker.authorizePublish(client, packet, done),
      authorizeSubscribe: (client, sub, done) => broker.authorizeSubscribe(client, sub, done),
    });
    broker.#wireLifecycle();
    broker.#routeOnlyWhenHeard();
    return broker;
  }

  /** Counted always; logged once a minute per client, reason and action, with the count held back. */
  #refuse(action: 'connect' | 'publish' | 'subscribe' | 'packet', clientId: string, reason: string, topic?: string, detail?: string): void {
    this.#deps.metrics.mqttRefusals.inc({ action, reason });
    const suppressed = this.#logLimiter.admit(`${action}\u0000${reason}\u0000${clientId}`, this.#deps.clock.now());
    if (suppressed !== undefined) this.#deps.log.warn({ action, clientId, reason, topic, detail, ...(suppressed > 0 ? { suppressed } : {}) }, `mqtt ${action} refused: ${reason}`);
    this.#deps.bus.emit('broker.refused', topic === undefined ? { action, clientId, reason } : { action, clientId, reason, topic });
  }

  #admit(deviceId: string, accept: () => void): void {
    const admit = this.#deps.admit;
    if (!admit) return accept();
    admit(deviceId).then(accept, (err: unknown) => {
      this.#deps.log.error({ err, deviceId }, 'could not take the device for this node; let in all the same');
      accept();
    });
  }

  authenticate(client: Client, username: string | undefined, password: Buffer | undefined, done: (err: AuthError | null, ok: boolean | null) => void): void {
    const clientId = client.id ?? '';
    const refuse = (code: number, reason: string, message: string, failedLogin = true) => {
      this.#refuse('connect', clientId, reason);
      const delay = failedLogin ? this.#logins.failed(clientId, addressOf(client), this.#deps.clock.now()) : 0;
      const answer = () => done(authError(code, message), false);
      if (delay > 0) this.#logins.hold(delay, answer);
      else answer();
    };
    if (!username || !password) return refuse(BAD_USERNAME_OR_PASSWORD, 'no_credentials', 'username and password required');
    if (username !== clientId) return refuse(IDENTIFIER_REJECTED, 'client_id_mismatch', 'client id must equal the username (the device id)');
    const device = this.#deps.directory.get(username);
    if (!device) return refuse(BAD_USERNAME_OR_PASSWORD, 'unknown_device', 'bad username or password');
    if (device.decommissioned) return refuse(NOT_AUTHORIZED, 'decommissioned', 'device decommissioned', false);
    const secret = password.toString('utf8');
    if (isCurrentDeviceHash(device.secretHash)) {
      if (!verifyDeviceSecret(secret, device.secretHash)) return refuse(BAD_USERNAME_OR_PASSWORD, 'bad_password', 'bad username or password');
      this.#logins.succeeded(clientId);
      return this.#admit(clientId, () => done(null, true));
    }
    // A hash from before hmac-sha256 (scrypt): checked once more the slow way, then replaced.
    verifySecret(secret, device.secretHash).then(
      (ok) => {
        if (!ok) return refuse(BAD_USERNAME_OR_PASSWORD, 'bad_password', 'bad username or password');
        this.#deps.directory.replaceSecretHash(device, hashDeviceSecret(secret)).catch((err: unknown) => {
          this.#deps.log.warn({ err, clientId }, 'could not store the upgraded secret hash; it is tried again at the next login');
        });
        this.#logins.succeeded(clientId);
        this.#admit(clientId, () => done(null, true));
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
    if ((packet as { retain?: boolean }).retain && payload.length > this.#limits.maxRetainedBytes) {
      // Ingested as usual, but not kept: retained payloads live in memory and go to every later subscriber.
      (packet as { retain?: boolean }).retain = false;
      this.#refuse('publish', client.id, 'retained_too_large', packet.topic, `${payload.length} bytes; the limit for a retained message is ${this.#limits.maxRetainedBytes}`);
    }
    const current = this.#sessions.get(device!.id);
    const receivedAt = this.#deps.clock.now();
    if (this.tap) this.tap({ deviceId: device!.id, profileId: device!.profile.id, topic: packet.topic, payload, receivedAt });
    let result: IngestResult | Promise<IngestResult>;
    try {
      result = this.#deps.ingest.handle({
        device: device!,
        topic: packet.topic,
        payload,
        receivedAt,
        superseded: current !== undefined && current !== client,
        qos: (packet as { qos?: number }).qos ?? 0,
      });
    } catch (err) {
      return this.#notRecorded(err, device!.id, packet.topic, receivedAt, done);
    }
    // A message is acknowledged once what it carries is written (its readings with the next telemetry batch).
    // (No named closure per message: under tsx each costs an Object.defineProperty of its name.)
    if (result instanceof Promise) result.then((r) => this.#recorded(r, client, done), (err: unknown) => this.#notRecorded(err, device!.id, packet.topic, receivedAt, done));
    else this.#recorded(result, client, done);
  }

  #recorded(result: IngestResult, client: Client, done: (err?: Error | null) => void): void {
    if (result.outcome === 'dropped') this.#slowDown(client);
    done(null);
  }

  /**
   * Ingest fails only when the message cannot be recorded now (the disk is full).
   * No PUBACK then: aedes drops the connection and the device redelivers its QoS 1 message later.
   */
  #notRecorded(err: unknown, deviceId: string, topic: string, receivedAt: number, done: (err?: Error | null) => void): void {
    this.#deps.metrics.ingestFailures.inc();
    if (this.#logLimiter.admit(`ingest\u0000${deviceId}`, receivedAt) !== undefined) this.#deps.log.error({ err, deviceId, topic }, 'message not recorded; not acknowledged, the device will redeliver it');
    done(err as Error);
  }

  /**
   * A device over its rate: besides dropping what it sends, stop reading its
   * socket for a moment, so TCP holds the flood back and parsing it does not
   * take the event loop from other devices' SOS.
   */
  #slowDown(client: Client): void {
    this.#readGates.get(client)?.holdFor(100);
  }

  /** Per connection: holds reading back while its device is over its rate (see #slowDown). */
  readonly #readGates = new WeakMap<Client, { holdFor(ms: number): void }>();

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

  /** Sees every message a device is allowed to publish, before ingest (`carebell record`); unset on the hot path otherwise. */
  tap: ((m: TappedMessage) => void) | undefined;

  /** True once a device listener (TCP or TLS) accepts connections. */
  listening(): boolean {
    return [...this.#servers].some((s) => s.listening);
  }

  /** The ports devices connect to (null: not listening), for an installer's sheet. */
  ports(): { mqtt: number | null; mqtts: number | null } {
    const port = (tls: boolean) => {
      const server = [...this.#servers].find((s) => s.listening && s instanceof TlsServer === tls);
      const address = server?.address();
      return address && typeof address === 'object' ? address.port : null;
    };
    return { mqtt: port(false), mqtts: port(true) };
  }

  /** Serves MQTT over TCP. Nagle is off: device messages are small and latency matters. */
  listenTcp(port: number, host: string): Promise<Server> {
    return this.#listen(createServer({ noDelay: true }, (socket) => this.#accept(socket)), port, host);
  }

  /** Serves MQTT over TLS (mqtts) with the given PEM certificate chain and key. */
  listenTls(port: number, host: string, tls: { cert: Buffer; key: Buffer }): Promise<Server> {
    const server = createTlsServer({ cert: tls.cert, key: tls.key, minVersion: 'TLSv1.2', noDelay: true }, (socket: TLSSocket) => this.#accept(socket));
    // A failed handshake (wrong CA, plain MQTT on the TLS port) is the client's problem, not the gateway's.
    server.on('tlsClientError', (err) => this.#deps.log.debug({ err: err.message }, 'mqtts handshake failed'));
    return this.#listen(server, port, host);
  }

  /**
   * aedes reads a connection with `conn.read()` on 'readable'. While held, the
   * read answers "nothing yet" and the bytes stay in the socket: its buffer
   * fills, TCP stops the sender, and a 'readable' when the hold ends picks up
   * where it stopped. (aedes' own pause() loses count of packets in flight.)
   */
  #gateReads(client: Client, conn: Duplex): void {
    let heldUntil = 0;
    let limitedUntil = 0;
    let timer: NodeJS.Timeout | undefined;
    const read = conn.read.bind(conn);
    const CHUNK = 16_384;
    conn.read = (size?: number) => {
      const now = performance.now();
      if (heldUntil > now) return null;
      // Lately over its rate: what piled up meanwhile is read a slice at a time, other devices' turns between.
      if (limitedUntil > now && conn.readableLength > CHUNK) {
        setImmediate(() => !conn.destroyed && conn.emit('readable'));
        return read(CHUNK);
      }
      return read(size);
    };
    this.#readGates.set(client, {
      holdFor: (ms) => {
        if (timer) return;
        heldUntil = performance.now() + ms;
        limitedUntil = heldUntil + 1_000;
        timer = setTimeout(() => {
          timer = undefined;
          heldUntil = 0;
          if (!conn.destroyed) conn.emit('readable');
        }, ms);
        timer.unref();
      },
    });
  }

  #accept(socket: Socket): void {
    this.#sockets.add(socket);
    socket.once('close', () => this.#sockets.delete(socket));
    this.#guard(this.aedes.handle(socket), socket);
  }

  /**
   * Puts a packet guard in front of the client's parser: each chunk's headers
   * are read before aedes buffers it, and a packet over its limit closes the
   * connection at once (see packet-guard.ts).
   */
  #guard(client: Client, conn: Duplex): void {
    this.#gateReads(client, conn);
    const parser = (client as unknown as { _parser: { parse(buf: Buffer): number } })._parser;
    const guard = new PacketGuard(this.#limits.packets);
    const parse = parser.parse.bind(parser);
    parser.parse = (buf: Buffer) => {
      const refused = guard.inspect(buf);
      if (!refused) return parse(buf);
      this.#refuse('packet', client.id ?? '', refused.reason, undefined, refused.detail);
      conn.destroy();
      // A logged-in device is told why in its dead letters (the bytes were never read, so none are kept).
      const device = client.connected ? this.#deps.directory.get(client.id) : undefined;
      if (device && this.#logLimiter.admit(`packet-dl\u0000${device.id}`, this.#deps.clock.now()) !== undefined) {
        this.#deps.ingest.recordRefusedPacket(device, `${refused.detail}; the connection was closed before reading it`, this.#deps.clock.now());
      }
      return 0;
    };
  }

  #listen(server: Server, port: number, host: string): Promise<Server> {
    this.#servers.add(server);
    return new Promise((resolve, reject) => {
      server.once('error', reject);
      // A deep accept queue: after a restart every device reconnects at once (the kernel caps it at somaxconn).
      server.listen({ port, host, backlog: 4_096 }, () => {
        server.off('error', reject);
        resolve(server);
      });
    });
  }

  /** Serves MQTT over an already-upgraded WebSocket stream. */
  handleStream(stream: Duplex, req?: IncomingMessage): void {
    this.#guard(this.aedes.handle(stream, req), stream);
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

/** The peer's address: the TCP socket's, or the HTTP request's for MQTT over WebSocket. */
function addressOf(client: Client): string {
  const c = client as unknown as { conn?: { remoteAddress?: string }; req?: { socket?: { remoteAddress?: string } } };
  return c.conn?.remoteAddress ?? c.req?.socket?.remoteAddress ?? 'unknown';
}
