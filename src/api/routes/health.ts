import type { Api, ApiContext } from '../context.ts';

/** Unauthenticated: liveness, readiness and Prometheus metrics. */
export function healthRoutes(app: Api, ctx: ApiContext): void {
  app.get('/', { schema: { hide: true } }, async () => ({
    service: 'carebell',
    api: '/api/v1',
    stream: '/api/v1/stream',
    health: '/healthz',
    metrics: '/metrics',
    mqttOverWebSocket: '/mqtt',
  }));

  app.get('/healthz', { schema: { hide: true } }, async (_req, reply) => {
    const health = ctx.health();
    return reply.status(health.ok ? 200 : 503).send({ status: health.ok ? 'ok' : 'degraded', checks: health.checks });
  });

  app.get('/metrics', { schema: { hide: true } }, async (_req, reply) => {
    return reply.header('content-type', ctx.metrics.registry.contentType).send(await ctx.metrics.registry.metrics());
  });
}
