/**
 * Binary layout building blocks: fixed-offset integers and floats, bit flags,
 * checksums. Pure functions over a Buffer; they never throw on short frames
 * (the caller checks lengths first) but return undefined for out-of-bounds.
 */
export type BinaryType = 'u8' | 'i8' | 'u16' | 'i16' | 'u32' | 'i32' | 'f32';
export type Endian = 'big' | 'little';

export const binaryTypeSize: Record<BinaryType, number> = { u8: 1, i8: 1, u16: 2, i16: 2, u32: 4, i32: 4, f32: 4 };

export function readBinary(buf: Buffer, offset: number, type: BinaryType, endian: Endian): number | undefined {
  if (offset + binaryTypeSize[type] > buf.length) return undefined;
  const be = endian === 'big';
  switch (type) {
    case 'u8':
      return buf.readUInt8(offset);
    case 'i8':
      return buf.readInt8(offset);
    case 'u16':
      return be ? buf.readUInt16BE(offset) : buf.readUInt16LE(offset);
    case 'i16':
      return be ? buf.readInt16BE(offset) : buf.readInt16LE(offset);
    case 'u32':
      return be ? buf.readUInt32BE(offset) : buf.readUInt32LE(offset);
    case 'i32':
      return be ? buf.readInt32BE(offset) : buf.readInt32LE(offset);
    case 'f32':
      return be ? buf.readFloatBE(offset) : buf.readFloatLE(offset);
  }
}

export const bitOf = (value: number, bit: number): number => (value >>> bit) & 1;

export type ChecksumAlgorithm = 'sum8' | 'xor8' | 'crc16_modbus';

/** The width in bytes of each checksum as it sits in the frame. */
export const checksumSize: Record<ChecksumAlgorithm, number> = { sum8: 1, xor8: 1, crc16_modbus: 2 };

export function computeChecksum(algorithm: ChecksumAlgorithm, bytes: Buffer): number {
  switch (algorithm) {
    case 'sum8': {
      let sum = 0;
      for (const b of bytes) sum = (sum + b) & 0xff;
      return sum;
    }
    case 'xor8': {
      let x = 0;
      for (const b of bytes) x ^= b;
      return x;
    }
    case 'crc16_modbus': {
      // CRC-16/MODBUS: poly 0x8005 reflected (0xA001), init 0xFFFF; sent low byte first.
      let crc = 0xffff;
      for (const b of bytes) {
        crc ^= b;
        for (let i = 0; i < 8; i++) crc = crc & 1 ? (crc >>> 1) ^ 0xa001 : crc >>> 1;
      }
      return crc;
    }
  }
}

/** Reads the checksum stored in the frame, in the byte order each algorithm uses on the wire. */
export function storedChecksum(algorithm: ChecksumAlgorithm, buf: Buffer, at: number): number | undefined {
  if (algorithm === 'crc16_modbus') return readBinary(buf, at, 'u16', 'little');
  return readBinary(buf, at, 'u8', 'big');
}

/** Resolves a possibly negative position against a frame length. */
export const position = (pos: number, length: number): number => (pos < 0 ? length + pos : pos);

/** Decodes the MQTT payload into frame bytes according to the profile's encoding. */
export function frameBytes(payload: Buffer, encoding: 'raw' | 'hex' | 'base64'): Buffer | string {
  if (encoding === 'raw') return payload;
  const text = payload.toString('latin1').trim();
  if (encoding === 'hex') {
    const hex = text.replace(/\s+/g, '');
    if (hex.length % 2 !== 0 || !/^[0-9a-fA-F]*$/.test(hex)) return 'payload is not valid hex';
    return Buffer.from(hex, 'hex');
  }
  if (!/^[A-Za-z0-9+/]*={0,2}$/.test(text)) return 'payload is not valid base64';
  return Buffer.from(text, 'base64');
}
