/**
 * JSON building blocks: dot paths compiled once into getters.
 * "bp.sys" reads obj.bp.sys; "vitals.0.hr" reads obj.vitals[0].hr.
 * Only a value's own properties are read: a payload can never reach
 * `constructor`, `__proto__` or an array's `length` through a path.
 */
export type Getter = (root: unknown) => unknown;

const hasOwn = Object.prototype.hasOwnProperty;

export function compilePath(path: string): Getter {
  const parts = path.split('.');
  if (parts.length === 1) {
    const key = parts[0]!;
    return (root) => (hasOwn.call(root, key) ? (root as Record<string, unknown>)[key] : undefined);
  }
  return (root) => {
    let node: unknown = root;
    for (const part of parts) {
      if (node === null || typeof node !== 'object' || !hasOwn.call(node, part)) return undefined;
      node = (node as Record<string, unknown>)[part];
    }
    return node;
  };
}

export type JsonParse = { ok: true; value: Record<string, unknown> } | { ok: false; reason: string };

export function parseJsonObject(payload: Buffer): JsonParse {
  const text = payload.toString('utf8');
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (err) {
    return { ok: false, reason: `not valid JSON (${(err as Error).message})` };
  }
  if (value === null || typeof value !== 'object' || Array.isArray(value)) {
    return { ok: false, reason: `expected a JSON object, got ${Array.isArray(value) ? 'an array' : value === null ? 'null' : typeof value}` };
  }
  // JSON.parse keeps the last of two equal keys: `{"type":"cancel",…,"type":"sos"}` would
  // silently become an SOS. Every key written must be a key kept, or the message is refused.
  if (keyCount(value) !== keysWritten(text)) return { ok: false, reason: `duplicate key "${firstDuplicateKey(text) ?? '?'}" in a JSON object` };
  return { ok: true, value: value as Record<string, unknown> };
}

/** Own keys of every object in a parsed JSON value. */
function keyCount(value: unknown): number {
  if (value === null || typeof value !== 'object') return 0;
  let n = 0;
  if (Array.isArray(value)) {
    for (let i = 0; i < value.length; i++) n += keyCount(value[i]);
    return n;
  }
  for (const k in value) n += 1 + keyCount((value as Record<string, unknown>)[k]);
  return n;
}

const QUOTE = 0x22;
const BACKSLASH = 0x5c;
const COLON = 0x3a;

/** Strings followed by a colon in valid JSON text: its object keys, duplicates included. No allocation. */
function keysWritten(text: string): number {
  let n = 0;
  for (let i = 0; i < text.length; i++) {
    if (text.charCodeAt(i) !== QUOTE) continue;
    i = endOfString(text, i);
    let j = i + 1;
    while (j < text.length && text.charCodeAt(j) <= 0x20) j++;
    if (text.charCodeAt(j) === COLON) n++;
  }
  return n;
}

/** Index of the closing quote of the string opening at `start`. */
function endOfString(text: string, start: number): number {
  let i = start + 1;
  for (; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (c === BACKSLASH) i++;
    else if (c === QUOTE) break;
  }
  return i;
}

/** The first key written twice in one object (only for the error message; the text is valid JSON). */
function firstDuplicateKey(text: string): string | undefined {
  const stack: Array<Set<string> | null> = [];
  for (let i = 0; i < text.length; i++) {
    const c = text[i];
    if (c === '{') stack.push(new Set());
    else if (c === '[') stack.push(null);
    else if (c === '}' || c === ']') stack.pop();
    else if (c === '"') {
      const end = endOfString(text, i);
      const raw = text.slice(i, end + 1);
      i = end;
      let j = i + 1;
      while (j < text.length && text.charCodeAt(j) <= 0x20) j++;
      const keys = stack[stack.length - 1];
      if (text[j] !== ':' || !keys) continue;
      const key = JSON.parse(raw) as string;
      if (keys.has(key)) return key;
      keys.add(key);
    }
  }
  return undefined;
}
