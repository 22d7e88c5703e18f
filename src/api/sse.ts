import type { FastifyReply, FastifyRequest } from 'fastify';

export const SSE_HEARTBEAT_MS = 15_000;

/**
 * Takes over a reply as a Server-Sent Events stream: the headers that keep
 * proxies from buffering, a comment line every 15 s to keep idle connections
 * open, and `onClose` when the client goes away.
 */
export function openSse(req: FastifyRequest, reply: FastifyReply, onClose: () => void): { write: (chunk: string) => void } {
  reply.hijack();
  const res = reply.raw;
  res.writeHead(200, {
    'content-type': 'text/event-stream; charset=utf-8',
    'cache-control': 'no-cache, no-transform',
    connection: 'keep-alive',
    'x-accel-buffering': 'no',
  });
  const heartbeat = setInterval(() => res.write(': heartbeat\n\n'), SSE_HEARTBEAT_MS);
  heartbeat.unref();
  let closed = false;
  const close = () => {
    if (closed) return;
    closed = true;
    clearInterval(heartbeat);
    onClose();
  };
  req.raw.once('close', close);
  res.once('close', close);
  return { write: (chunk) => void res.write(chunk) };
}
