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
  let buf = '';
  for (;;) {
    const { value, done } = await reader.read().catch(() => ({ value: undefined, done: true as const }));
    if (done) return;
    buf += decoder.decode(value, { stream: true });
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
  }
}

/** A real SSE client over fetch: collects events and waits for the one a test needs. */
export async function openStream(url: string, token: string, lastEventId?: number) {
  const controller = new AbortController();
  const res = await fetch(url, {
    headers: { authorization: `Bearer ${token}`, accept: 'text/event-stream', ...(lastEventId !== undefined ? { 'last-event-id': String(lastEventId) } : {}) },
    signal: controller.signal,
  });
  if (res.status !== 200) throw new Error(`stream answered ${res.status}`);
  const events: SseEvent[] = [];
  const waiters: Array<{ match: (e: SseEvent) => boolean; resolve: (e: SseEvent) => void }> = [];
  let heartbeats = 0;
  const pump = readSse(res.body!, (e) => {
    if (e === 'heartbeat') return void heartbeats++;
    events.push(e);
    for (const w of [...waiters]) {
      if (w.match(e)) {
        waiters.splice(waiters.indexOf(w), 1);
        w.resolve(e);
      }
    }
  });
  return {
    events,
    heartbeats: () => heartbeats,
    next(match: (e: SseEvent) => boolean): Promise<SseEvent> {
      const seen = events.find(match);
      if (seen) return Promise.resolve(seen);
      return new Promise((resolve) => waiters.push({ match, resolve }));
    },
    async close() {
      controller.abort();
      await pump;
    },
  };
}
