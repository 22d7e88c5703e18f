/**
 * key=value text building block, e.g. `id=GD01;gas=12;alarm=1;bat=87`.
 * Keys are trimmed; a pair without the assign sign is an error; a repeated key
 * is an error (a firmware bug worth seeing, not silently picking one).
 */
export type KvParse = { ok: true; value: Record<string, string> } | { ok: false; reason: string };

export function parseKeyValue(payload: Buffer, separator: string, assign: string): KvParse {
  const text = payload.toString('utf8').trim();
  if (text.length === 0) return { ok: false, reason: 'empty key=value payload' };
  const out: Record<string, string> = Object.create(null);
  for (const rawPair of text.split(separator)) {
    const pair = rawPair.trim();
    if (pair.length === 0) continue;
    const at = pair.indexOf(assign);
    if (at <= 0) return { ok: false, reason: `"${pair.slice(0, 40)}" is not a key${assign}value pair` };
    const key = pair.slice(0, at).trim();
    if (key in out) return { ok: false, reason: `key "${key}" appears twice` };
    out[key] = pair.slice(at + assign.length).trim();
  }
  return { ok: true, value: out };
}
