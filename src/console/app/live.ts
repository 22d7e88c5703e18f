/**
 * The live stream (GET /api/v1/stream) read with fetch, so the token goes in
 * the Authorization header. Reconnects by itself with backoff and resumes
 * with Last-Event-ID; tells the page its state so the page can say so.
 */
export type LiveState = 'connecting' | 'connected' | 'reconnecting';
export interface LiveEvent {
  id: number | undefined;
  event: string;
  data: any;
}

export function openLive(token: string, on: { event: (e: LiveEvent) => void; state: (s: LiveState) => void; reset: () => void }): () => void {
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
        if (!res.ok || !res.body) throw new Error(`stream ${res.status}`);
        on.state('connected');
        if (attempt > 0) on.reset(); // whatever was missed beyond the replay buffer: reload the lists
        attempt = 0;
        const reader = res.body.getReader();
        const decoder = new TextDecoder();
        let buf = '';
        for (;;) {
          const { value, done } = await reader.read();
          if (done) break;
          buf += decoder.decode(value, { stream: true });
          let at: number;
          while ((at = buf.indexOf('\n\n')) !== -1) {
            const block = buf.slice(0, at);
            buf = buf.slice(at + 2);
            if (block.startsWith(':') || block.startsWith('retry:')) continue;
            const fields: Record<string, string> = {};
            for (const line of block.split('\n')) {
              const colon = line.indexOf(':');
              if (colon > 0) fields[line.slice(0, colon)] = line.slice(colon + 1).trimStart();
            }
            if (fields.id) lastId = Number(fields.id);
            if (fields.event === 'stream.reset') on.reset();
            else if (fields.event) on.event({ id: fields.id ? Number(fields.id) : undefined, event: fields.event, data: JSON.parse(fields.data ?? 'null') });
          }
        }
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
