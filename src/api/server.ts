import Fastify, { type FastifyBaseLogger } from 'fastify';
import { serializerCompiler, validatorCompiler, type ZodTypeProvider } from 'fastify-type-provider-zod';
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

/** Builds the HTTP API; never listens (main.ts does, tests use inject or port 0). */
export function buildApi(ctx: ApiContext, log: Logger): Api {
  const app = Fastify({ loggerInstance: log as FastifyBaseLogger, bodyLimit: 1_048_576, forceCloseConnections: true }).withTypeProvider<ZodTypeProvider>();
  app.setValidatorCompiler(validatorCompiler);
  app.setSerializerCompiler(serializerCompiler);
  installErrorHandling(app);

  healthRoutes(app, ctx);
  app.register(
    async (v1) => {
      const api = v1.withTypeProvider<ZodTypeProvider>();
      api.addHook('onRequest', bearerAuth({ adminToken: ctx.config.adminToken, tokens: ctx.tokens }));
      stationRoutes(api, ctx);
      residentRoutes(api, ctx);
      deviceRoutes(api, ctx);
      profileRoutes(api, ctx);
      deadLetterRoutes(api, ctx);
      alarmRoutes(api, ctx);
      streamRoutes(api, ctx);
      reportRoutes(api, ctx);
    },
    { prefix: '/api/v1' },
  );
  return app;
}
