import type { Api, ApiContext } from '../context.ts';

/** What these routes use. */
export type HealthRoutesDeps = Pick<ApiContext, 'clock' | 'config' | 'health' | 'metrics' | 'ready'>;

/** Unauthenticated: liveness, readiness and Prometheus metrics. */
export function healthRoutes(app: Api, ctx: HealthRoutesDeps): void {
  app.get('/api', { schema: { hide: true } }, async () => ({
    service: 'carebell',
    console: '/',
    api: '/api/v1',
    docs: '/docs',
    openapi: '/openapi.json',
    stream: '/api/v1/stream',
    health: '/healthz',
    ready: '/readyz',
    metrics: '/metrics',
    mqttOverWebSocket: '/mqtt',
    // Simulators align their device timestamps with this (a test or demo gateway may run on simulated time).
    clock: { now: new Date(ctx.clock.now()).toISOString(), speed: ctx.clock.speed ?? 1, mode: ctx.config.mode },
  }));

  app.get(
    '/healthz',
    { config: { public: true }, schema: { tags: ['service'], summary: 'Liveness: the process, broker and database answer', security: [] } },
    async (_req, reply) => {
      const health = ctx.health();
      return reply.status(health.ok ? 200 : 503).send({ status: health.ok ? 'ok' : 'degraded', checks: health.checks });
    },
  );

  app.get(
    '/readyz',
    {
      config: { public: true },
      schema: { tags: ['service'], summary: 'Readiness: accepting devices and requests, alarms being delivered (503 while starting or shutting down)', security: [] },
    },
    async (_req, reply) => {
      const ready = await ctx.ready();
      return reply.status(ready.ok ? 200 : 503).send({ status: ready.ok ? 'ready' : 'not_ready', checks: ready.checks });
    },
  );

  app.get('/metrics', { schema: { tags: ['service'], summary: 'Prometheus metrics (text format)', security: [] } }, async (_req, reply) => {
    return reply.header('content-type', ctx.metrics.registry.contentType).send(await ctx.metrics.registry.metrics());
  });
}
