/** Server-Sent Events read over fetch, in Node and in browsers: the console's live stream, the simulators' recorder and the tests use it. */
export interface SseEvent {
  id: number | undefined;
  event: string;
  data: any;
}

/**
 * Reads an SSE body to its end, calling `on` for each event (and for each
 * comment line, as 'heartbeat'). Resolves when the stream ends or is aborted.
 */
export async function readSse(body: ReadableStream<Uint8Array>, on: (e: SseEvent | 'heartbeat') => void): Promise<void> {
  const reader = body.getReader();
  const decoder = new TextDecoder();
  const parse = sseParser(on);
  for (;;) {
    const { value, done } = await reader.read().catch(() => ({ value: undefined, done: true as const }));
    if (done) return;
    parse(decoder.decode(value, { stream: true }));
  }
}

/** The SSE parser alone: feed it the text as it comes (e.g. from a Node http response's 'data' events). */
export function sseParser(on: (e: SseEvent | 'heartbeat') => void): (text: string) => void {
  let buf = '';
  return (text) => {
    buf += text;
    let at: number;
    while ((at = buf.indexOf('\n\n')) !== -1) {
      const block = buf.slice(0, at);
      buf = buf.slice(at + 2);
      if (block.startsWith(':')) {
        on('heartbeat');
        continue;
      }
      const fields = Object.fromEntries(block.split('\n').map((l) => [l.slice(0, l.indexOf(':')), l.slice(l.indexOf(':') + 1).trimStart()]));
      if (fields.event) on({ id: fields.id ? Number(fields.id) : undefined, event: fields.event, data: JSON.parse(fields.data ?? 'null') });
    }
  };
}
