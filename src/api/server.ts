import { readFileSync } from 'node:fs';
import Fastify, { type FastifyBaseLogger } from 'fastify';
import helmet from '@fastify/helmet';
import swagger from '@fastify/swagger';
import swaggerUi from '@fastify/swagger-ui';
import { jsonSchemaTransform, serializerCompiler, validatorCompiler, type ZodTypeProvider } from 'fastify-type-provider-zod';
import type { Logger } from '../core/logger.ts';
import { bearerAuth } from './auth.ts';
import type { Api, ApiContext } from './context.ts';
import { installErrorHandling } from './errors.ts';
import { deadLetterRoutes } from './routes/dead-letters.ts';
import { deviceRoutes } from './routes/devices.ts';
import { healthRoutes } from './routes/health.ts';
import { profileRoutes } from './routes/profiles.ts';
import { residentRoutes } from './routes/residents.ts';
import { stationRoutes } from './routes/stations.ts';
import { alarmRoutes } from './routes/alarms.ts';
import { streamRoutes } from './routes/stream.ts';
import { reportRoutes } from './routes/reports.ts';
import { visitRoutes } from './routes/visits.ts';
import { careRoutes } from './routes/care.ts';
import { accountRoutes } from './routes/accounts.ts';
import { trafficRoutes } from './routes/traffic.ts';
import { consoleRoutes } from '../console/serve.ts';

declare module 'fastify' {
  interface FastifyInstance {
    /** Every route as `METHOD /path`, in registration order (HEAD twins left out). */
    routeTable: string[];
  }
}

/** Builds the HTTP API; never listens (main.ts does, tests use inject or port 0). */
export function buildApi(ctx: ApiContext, log: Logger): Api {
  const { config } = ctx;
  const tls = config.httpTlsCert && config.httpTlsKey ? { cert: readFileSync(config.httpTlsCert), key: readFileSync(config.httpTlsKey), minVersion: 'TLSv1.2' as const } : undefined;
  const app = Fastify({
    loggerInstance: log as FastifyBaseLogger,
    bodyLimit: 1_048_576,
    forceCloseConnections: true,
    // Only a configured reverse proxy's X-Forwarded-For is believed (login throttling goes by address).
    trustProxy: config.trustProxy.length > 0 ? config.trustProxy : false,
    ...(tls ? { https: tls } : {}),
  }).withTypeProvider<ZodTypeProvider>() as unknown as Api;
  app.register(helmet, {
    contentSecurityPolicy: {
      useDefaults: false,
      directives: {
        defaultSrc: ["'self'"],
        scriptSrc: ["'self'"],
        // Preact and uPlot set element styles; no inline script is ever allowed.
        styleSrc: ["'self'", "'unsafe-inline'"],
        imgSrc: ["'self'", 'data:'],
        mediaSrc: ["'self'", 'data:'],
        connectSrc: ["'self'"],
        objectSrc: ["'none'"],
        baseUri: ["'none'"],
        formAction: ["'self'"],
        frameAncestors: ["'none'"],
      },
    },
    frameguard: { action: 'deny' },
    referrerPolicy: { policy: 'no-referrer' },
    // HSTS only means something on HTTPS; over plain HTTP browsers ignore it and it would mislead.
    strictTransportSecurity: tls ? { maxAge: 31_536_000, includeSubDomains: false } : false,
    crossOriginEmbedderPolicy: false,
  });
  app.setValidatorCompiler(validatorCompiler);
  app.setSerializerCompiler(serializerCompiler);
  installErrorHandling(app);

  app.decorate('routeTable', [] as string[]);
  app.addHook('onRoute', (route) => {
    for (const method of [route.method].flat()) if (method !== 'HEAD') app.routeTable.push(`${method} ${route.url}`);
  });

  app.register(swagger, {
    openapi: {
      openapi: '3.0.3',
      info: {
        title: 'carebell API',
        version: '1',
        description:
          'Gateway and alarm platform for home-care devices. Authenticate with `POST /api/v1/auth/login` (or a token for automation) and send `Authorization: Bearer <token>`. Errors are `{error: {code, message, field?}}`; callers see only what their role and scope allow, and anything outside their scope is a 404.',
      },
      components: { securitySchemes: { bearer: { type: 'http', scheme: 'bearer' } } },
      security: [{ bearer: [] }],
      tags: [
        { name: 'auth', description: 'login, logout, the caller' },
        { name: 'users', description: 'accounts and roles (admin)' },
        { name: 'providers', description: 'home-bed provider companies' },
        { name: 'stations', description: 'district → street → community' },
        { name: 'residents', description: 'residents and their contacts' },
        { name: 'devices', description: 'devices, credentials, status' },
        { name: 'profiles', description: 'the device-profile catalogue' },
        { name: 'alarms', description: 'alarms, timeline, actions' },
        { name: 'stream', description: 'live Server-Sent Events' },
        { name: 'dead-letters', description: 'rejected device messages' },
        { name: 'reports', description: 'scheduled reports and statistics' },
        { name: 'service', description: 'health, readiness, metrics' },
      ],
    },
    transform: jsonSchemaTransform,
  });
  app.register(swaggerUi, { routePrefix: '/docs', uiConfig: { url: '/openapi.json', docExpansion: 'list', deepLinking: true }, staticCSP: true });

  app.register(async (root) => {
    const service = root.withTypeProvider<ZodTypeProvider>();
    healthRoutes(service, ctx);
    consoleRoutes(service);
    service.get('/openapi.json', { schema: { hide: true } }, async () => app.swagger());
  });
  app.register(
    async (v1) => {
      const api = v1.withTypeProvider<ZodTypeProvider>();
      const cluster = ctx.cluster;
      if (cluster) {
        // Best effort, bounded (modules/api.ts): with the database out of reach, the request is served from what this node holds.
        api.addHook('onRequest', () => cluster.catchUp());
        api.addHook('onSend', async (_req, _reply, payload) => {
          await cluster.noticesSent();
          return payload;
        });
      }
      api.addHook(
        'onRequest',
        bearerAuth({ adminToken: ctx.config.adminToken, tokens: ctx.tokens, users: ctx.users, clock: ctx.clock, access: { stations: ctx.stations, residents: ctx.residents, directory: ctx.directory } }),
      );
      accountRoutes(api, ctx);
      stationRoutes(api, ctx);
      residentRoutes(api, ctx);
      deviceRoutes(api, ctx);
      profileRoutes(api, ctx);
      deadLetterRoutes(api, ctx);
      alarmRoutes(api, ctx);
      streamRoutes(api, ctx);
      reportRoutes(api, ctx);
      visitRoutes(api, ctx);
      careRoutes(api, ctx);
      trafficRoutes(api, ctx);
    },
    { prefix: '/api/v1' },
  );
  return app;
}
