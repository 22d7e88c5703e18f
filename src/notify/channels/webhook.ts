import { createHmac } from 'node:crypto';
import type { Channel } from './channel.ts';

export const SIGNATURE_HEADER = 'X-Carebell-Signature';

/** `sha256=<hex HMAC-SHA256 of the raw body>`, keyed by the webhook secret. */
export const signBody = (secret: string, body: string): string => `sha256=${createHmac('sha256', secret).update(body).digest('hex')}`;

/**
 * HTTP POST of the notification body to a station's or contact's URL: how an
 * SMS, voice or WeChat gateway is plugged in. A 2xx answer is delivery;
 * anything else, or no answer within the timeout, is a failure to retry.
 * X-Carebell-Delivery is stable across retries, so a receiver can drop repeats.
 */
export function webhookChannel(opts: { secret: string; timeoutMs?: number }): Channel {
  const timeoutMs = opts.timeoutMs ?? 10_000;
  return {
    name: 'webhook',
    async send(item, body) {
      if (item.delivery.channel !== 'webhook') throw new Error('not a webhook delivery');
      const raw = JSON.stringify(body);
      let res: Response;
      try {
        res = await fetch(item.delivery.url, {
          method: 'POST',
          headers: {
            'content-type': 'application/json',
            'user-agent': 'carebell-webhook/1',
            [SIGNATURE_HEADER]: signBody(opts.secret, raw),
            'X-Carebell-Event': item.event,
            'X-Carebell-Delivery': String(item.id),
          },
          body: raw,
          signal: AbortSignal.timeout(timeoutMs),
          redirect: 'error',
        });
      } catch (err) {
        const e = err as Error & { cause?: { code?: string } };
        throw new Error(e.name === 'TimeoutError' ? `no answer within ${timeoutMs} ms` : (e.cause?.code ?? e.message));
      }
      await res.arrayBuffer().catch(() => undefined); // drain, so the connection is reused
      if (res.status < 200 || res.status > 299) throw new Error(`HTTP ${res.status}`);
    },
  };
}
