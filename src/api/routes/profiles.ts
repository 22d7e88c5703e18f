import { z } from 'zod';
import { notFound } from '../../core/errors.ts';
import { roles } from '../access.ts';
import type { Api, ApiContext } from '../context.ts';
import { idParam } from '../schemas.ts';

/** A profile document as sent: checked by the profile schema itself, so problems carry their JSON paths. */
const profileDocument = z.record(z.string(), z.unknown());

/** What these routes use. */
export type ProfileRoutesDeps = Pick<ApiContext, 'catalogue' | 'profiles'>;

export function profileRoutes(app: Api, ctx: ProfileRoutesDeps): void {
  app.get('/profiles', { schema: { summary: 'The device-profile catalogue', tags: ['profiles'] } }, async () => ctx.profiles.all().map((p) => p.summary()));

  app.get('/profiles/:id', { schema: { params: idParam, summary: 'One device profile, whole', tags: ['profiles'] } }, async (req) => {
    const profile = ctx.profiles.get(req.params.id);
    if (!profile) throw notFound('profile', req.params.id);
    return profile.profile;
  });

  app.post(
    '/profiles/validate',
    {
      onRequest: roles('admin', 'provider'),
      schema: { body: profileDocument, summary: 'Check a new profile: schema problems with their JSON paths, then every fixture decoded', tags: ['profiles'] },
    },
    async (req) => {
      const { compiled: _compiled, ...validation } = ctx.catalogue.validate(req.body);
      return { ...validation, exists: validation.id !== null && ctx.profiles.has(validation.id) };
    },
  );

  app.post(
    '/profiles',
    {
      onRequest: roles('admin', 'provider'),
      schema: { body: profileDocument, summary: 'Register a new profile (valid, every fixture passing, a new id); devices can use it at once', tags: ['profiles'] },
    },
    async (req, reply) => {
      const { profile, validation } = ctx.catalogue.register(req.body);
      req.log.info({ profile: profile.id, by: req.principal!.label }, 'device profile registered');
      return reply.status(201).send({ ...profile.summary(), fixtures: validation.fixtures });
    },
  );
}
