/**
 * Reads MQTT fixed headers as the bytes arrive, before aedes' parser buffers
 * them, and says when a connection must be closed: a packet declaring more
 * bytes than its kind may have, a first packet that is not CONNECT
 * [MQTT-3.1.0-1], or a malformed remaining length [MQTT-2.2.3]. The parser
 * keeps a packet in memory until all of it has arrived, so a declared 255 MB
 * CONNECT would otherwise be buffered whole, before any login.
 *
 * Only headers are read; the bytes themselves go on untouched (no copy).
 */
export interface PacketLimits {
  /** The first packet (CONNECT, with its will) before login. */
  connectBytes: number;
  /** A PUBLISH: payload, topic and packet id. */
  publishBytes: number;
  /** Anything else (SUBSCRIBE, PUBACK, PINGREQ …). */
  otherBytes: number;
}

const CONNECT = 1;
const PUBLISH = 3;

export type PacketRefusal = { reason: 'not_connect_first' | 'malformed_length' | 'packet_too_large'; detail: string; packetType: number; declaredBytes?: number };

export class PacketGuard {
  readonly #limits: PacketLimits;
  /** Bytes of the current packet's body still to come (0 between packets). */
  #remaining = 0;
  /** Reading a header: -1 = expecting the type byte, else how many length bytes were read. */
  #lengthBytes = -1;
  #length = 0;
  #multiplier = 1;
  #type = 0;
  #first = true;
  #refused: PacketRefusal | undefined;

  constructor(limits: PacketLimits) {
    this.#limits = limits;
  }

  /** Inspects the next bytes of the connection; a refusal means: close it, do not parse. */
  inspect(chunk: Buffer): PacketRefusal | undefined {
    if (this.#refused) return this.#refused;
    let i = 0;
    const n = chunk.length;
    while (i < n) {
      if (this.#remaining > 0) {
        const take = Math.min(this.#remaining, n - i);
        this.#remaining -= take;
        i += take;
        continue;
      }
      const byte = chunk[i++]!;
      if (this.#lengthBytes === -1) {
        this.#type = byte >> 4;
        if (this.#first && this.#type !== CONNECT) return this.#refuse({ reason: 'not_connect_first', detail: `the first packet is type ${this.#type}, not CONNECT`, packetType: this.#type });
        this.#lengthBytes = 0;
        this.#length = 0;
        this.#multiplier = 1;
        continue;
      }
      this.#length += (byte & 0x7f) * this.#multiplier;
      this.#multiplier *= 128;
      this.#lengthBytes++;
      if (byte & 0x80) {
        if (this.#lengthBytes >= 4) return this.#refuse({ reason: 'malformed_length', detail: 'remaining length longer than 4 bytes', packetType: this.#type });
        continue;
      }
      const limit = this.#first ? this.#limits.connectBytes : this.#type === PUBLISH ? this.#limits.publishBytes : this.#limits.otherBytes;
      if (this.#length > limit) {
        const kind = this.#first ? 'CONNECT' : this.#type === PUBLISH ? 'PUBLISH' : `packet type ${this.#type}`;
        return this.#refuse({ reason: 'packet_too_large', detail: `${kind} declares ${this.#length} bytes; the limit is ${limit}`, packetType: this.#type, declaredBytes: this.#length });
      }
      this.#first = false;
      this.#lengthBytes = -1;
      this.#remaining = this.#length;
    }
    return undefined;
  }

  #refuse(r: PacketRefusal): PacketRefusal {
    this.#refused = r;
    return r;
  }
}
