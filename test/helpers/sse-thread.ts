import http from 'node:http';
import { parentPort, workerData } from 'node:worker_threads';
import { sseParser } from '../../src/core/sse-reader.ts';

/**
 * A live-stream reader in a thread of its own (started with startWorker): it
 * hears what reaches its socket even while the gateway's thread is busy, and
 * posts `{ open: status }`, then `{ event, at }` for each event, `at` on the
 * wall clock every thread shares (performance.timeOrigin + now).
 */
const { url, token } = workerData as { url: string; token: string };
http.get(url, { headers: { authorization: `Bearer ${token}`, accept: 'text/event-stream' } }, (res) => {
  parentPort!.postMessage({ open: res.statusCode });
  res.setEncoding('utf8');
  res.on('data', sseParser((e) => e !== 'heartbeat' && parentPort!.postMessage({ event: e.event, at: performance.timeOrigin + performance.now() })));
});
