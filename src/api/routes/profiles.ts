import { notFound } from '../../core/errors.ts';
import type { Api, ApiContext } from '../context.ts';
import { idParam } from '../schemas.ts';

export function profileRoutes(app: Api, ctx: ApiContext): void {
  app.get('/profiles', { schema: { summary: 'The device-profile catalogue', tags: ['profiles'] } }, async () => ctx.profiles.all().map((p) => p.summary()));

  app.get('/profiles/:id', { schema: { params: idParam, summary: 'One device profile, whole', tags: ['profiles'] } }, async (req) => {
    const profile = ctx.profiles.get(req.params.id);
    if (!profile) throw notFound('profile', req.params.id);
    return profile.profile;
  });
}
