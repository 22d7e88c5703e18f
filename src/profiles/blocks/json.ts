/**
 * JSON building blocks: dot paths compiled once into getters.
 * "bp.sys" reads obj.bp.sys; "vitals.0.hr" reads obj.vitals[0].hr.
 */
export type Getter = (root: unknown) => unknown;

export function compilePath(path: string): Getter {
  const parts = path.split('.');
  if (parts.length === 1) {
    const key = parts[0]!;
    return (root) => (root as Record<string, unknown>)[key];
  }
  return (root) => {
    let node: unknown = root;
    for (const part of parts) {
      if (node === null || typeof node !== 'object') return undefined;
      node = (node as Record<string, unknown>)[part];
    }
    return node;
  };
}

export type JsonParse = { ok: true; value: Record<string, unknown> } | { ok: false; reason: string };

export function parseJsonObject(payload: Buffer): JsonParse {
  let value: unknown;
  try {
    value = JSON.parse(payload.toString('utf8'));
  } catch (err) {
    return { ok: false, reason: `not valid JSON (${(err as Error).message})` };
  }
  if (value === null || typeof value !== 'object' || Array.isArray(value)) {
    return { ok: false, reason: `expected a JSON object, got ${Array.isArray(value) ? 'an array' : value === null ? 'null' : typeof value}` };
  }
  return { ok: true, value: value as Record<string, unknown> };
}
