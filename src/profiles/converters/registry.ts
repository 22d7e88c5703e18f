/**
 * The escape hatch for what profile data cannot say: a vendor's framing (TLV
 * records, a checksum of its own), a field computed from others. A converter
 * is a named TypeScript function pair, registered here (in the manner of
 * zigbee-herdsman-converters) and used by name from a profile message with
 * `"format": "custom", "converter": "<name>"`. It turns the payload bytes into
 * a plain object, whose values the profile then locates with `path` like any
 * JSON message (units, ranges, maps and events stay profile data); `encode`
 * is its inverse, so simulators can speak the same format.
 */
export type ConverterRejectionCode = 'bad_length' | 'bad_magic' | 'bad_checksum' | 'bad_frame';

export type ConverterResult = { ok: true; value: Record<string, unknown> } | { ok: false; code: ConverterRejectionCode; reason: string };

export interface Converter {
  readonly name: string;
  readonly description: string;
  /** Bytes → a plain object; never throws for bad input (it says why instead). */
  decode(payload: Buffer): ConverterResult;
  /** A plain object (the paths the profile reads) → bytes. */
  encode(value: Record<string, unknown>): Buffer;
}

const converters = new Map<string, Converter>();

export function registerConverter(converter: Converter): void {
  if (!/^[a-z][a-z0-9-]*$/.test(converter.name)) throw new Error(`converter name ${JSON.stringify(converter.name)}: lower-case letters, digits and dashes`);
  if (converters.has(converter.name)) throw new Error(`a converter named ${converter.name} is already registered`);
  converters.set(converter.name, converter);
}

export function getConverter(name: string): Converter | undefined {
  return converters.get(name);
}

export function converterNames(): string[] {
  return [...converters.keys()].sort();
}
