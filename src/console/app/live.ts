import { readSse, type SseEvent } from '../../core/sse-reader.ts';

/**
 * The live stream (GET /api/v1/stream) read with fetch, so the token goes in
 * the Authorization header. Reconnects by itself with backoff and resumes
 * with Last-Event-ID; tells the page its state so the page can say so.
 */
export type LiveState = 'connecting' | 'connected' | 'reconnecting';
export type LiveEvent = SseEvent;

export function openLive(token: string, on: { event: (e: LiveEvent) => void; state: (s: LiveState) => void; reset: () => void; ended: (reason: string) => void }): () => void {
  let lastId: number | undefined;
  let stopped = false;
  let controller: AbortController | undefined;
  let attempt = 0;

  const run = async () => {
    while (!stopped) {
      on.state(attempt === 0 ? 'connecting' : 'reconnecting');
      controller = new AbortController();
      try {
        const headers: Record<string, string> = { authorization: `Bearer ${token}`, accept: 'text/event-stream' };
        if (lastId !== undefined) headers['last-event-id'] = String(lastId);
        const res = await fetch('/api/v1/stream', { headers, signal: controller.signal });
        if (res.status === 401) {
          // The login is no longer valid (expired, revoked): no point retrying with it.
          stopped = true;
          on.ended('unauthorized');
          return;
        }
        if (!res.ok || !res.body) throw new Error(`stream ${res.status}`);
        on.state('connected');
        if (attempt > 0) on.reset(); // whatever was missed beyond the replay buffer: reload the lists
        attempt = 0;
        await readSse(res.body, (e) => {
          if (e === 'heartbeat') return;
          if (e.id !== undefined) lastId = e.id;
          if (e.event === 'stream.reset') on.reset();
          else if (e.event === 'session.ended') {
            stopped = true;
            on.ended(String((e.data as { reason?: string } | null)?.reason ?? 'ended'));
          } else on.event(e);
        });
      } catch {
        /* dropped: reconnect below */
      }
      if (stopped) return;
      attempt++;
      on.state('reconnecting');
      await new Promise((r) => setTimeout(r, Math.min(15_000, 500 * 2 ** Math.min(attempt, 5))));
    }
  };
  void run();
  return () => {
    stopped = true;
    controller?.abort();
  };
}
