import type { FastifyReply, FastifyRequest } from 'fastify';

export const SSE_HEARTBEAT_MS = 15_000;
/**
 * How much a client may leave unread. Its events wait in the server's memory
 * meanwhile; a client that stops reading (a frozen tab, a half-open
 * connection) would otherwise hold them for ever. A burst may leave a healthy
 * client behind for a moment, so the soft limit is on time: more than 256 KB
 * unread for 30 s. The hard limit (8 MB) holds at once. A dropped client
 * reconnects with Last-Event-ID and gets what it missed from the replay buffer.
 */
export const SSE_UNREAD_LIMITS = { softBytes: 262_144, softMs: 30_000, hardBytes: 8_388_608 };

export interface SseStream {
  /**
   * Sends a chunk; false when the stream is closed, or was just closed because
   * the client reads too slowly. Node's HTTP response holds what is written in
   * one turn of the event loop and sends it when the turn ends; with `now`,
   * the chunk (and whatever was held before it) goes to the socket at once,
   * ahead of the rest of the turn (an alarm before the work its commit set
   * off, such as the outbox's deliveries).
   */
  write(chunk: string, now?: boolean): boolean;
  /** Ends the stream (after a last chunk, if given). */
  end(last?: string): void;
}

/**
 * Takes over a reply as a Server-Sent Events stream: the headers that keep
 * proxies from buffering, a comment line every 15 s to keep idle connections
 * open (`onHeartbeat` runs first and may end the stream), and `onClose` when
 * the client goes away or the stream is ended.
 */
export function openSse(req: FastifyRequest, reply: FastifyReply, on: { close: () => void; heartbeat?: () => void; slowReader?: () => void }): SseStream {
  reply.hijack();
  const res = reply.raw;
  res.writeHead(200, {
    ...(reply.getHeaders() as Record<string, string>),
    'content-type': 'text/event-stream; charset=utf-8',
    'cache-control': 'no-cache, no-transform',
    connection: 'keep-alive',
    'x-accel-buffering': 'no',
  });
  let closed = false;
  const close = () => {
    if (closed) return;
    closed = true;
    clearInterval(heartbeat);
    on.close();
  };
  let behindSince: number | undefined;
  const tooSlow = (): boolean => {
    const unread = res.writableLength;
    if (unread <= SSE_UNREAD_LIMITS.softBytes) {
      behindSince = undefined;
      return false;
    }
    const now = performance.now(); // network time, not the gateway's (possibly simulated) clock
    behindSince ??= now;
    return unread > SSE_UNREAD_LIMITS.hardBytes || now - behindSince > SSE_UNREAD_LIMITS.softMs;
  };
  const stream: SseStream = {
    write(chunk, now = false) {
      if (closed) return false;
      if (tooSlow()) {
        on.slowReader?.();
        res.destroy();
        close();
        return false;
      }
      res.write(chunk);
      // The response corked its socket for the rest of the turn (and uncorks it then, a no-op once done here).
      if (now && res.socket?.writableCorked) res.socket.uncork();
      return true;
    },
    end(last) {
      if (closed) return;
      if (last) res.write(last);
      res.end();
      close();
    },
  };
  const heartbeat = setInterval(() => {
    on.heartbeat?.();
    stream.write(': heartbeat\n\n');
  }, SSE_HEARTBEAT_MS);
  heartbeat.unref();
  req.raw.once('close', close);
  res.once('close', close);
  return stream;
}
