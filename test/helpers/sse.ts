import { readSse, type SseEvent } from '../../src/core/sse-reader.ts';

export { readSse, type SseEvent };

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
    /** Settles when the server ends the stream (or close() aborts it). */
    done: pump.catch(() => {}),
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
