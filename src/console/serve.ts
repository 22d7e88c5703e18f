import { existsSync, readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import type { FastifyInstance } from 'fastify';
import { bundleConsole, type ConsoleAssets } from './bundle.ts';

/** Prebuilt by `npm run build` (dist/console/assets); from the sources, bundled on first request, otherwise. */
const prebuiltDir = fileURLToPath(new URL('./assets/', import.meta.url));

function loadAssets(): Promise<ConsoleAssets> {
  if (existsSync(prebuiltDir + 'app.js')) {
    return Promise.resolve({ js: readFileSync(prebuiltDir + 'app.js', 'utf8'), css: readFileSync(prebuiltDir + 'app.css', 'utf8') });
  }
  return bundleConsole({ minify: false });
}

const page = (lang: string) => `<!doctype html>
<html lang="${lang}">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta name="color-scheme" content="light">
<title>carebell 平安铃监护台</title>
<link rel="icon" href="data:image/svg+xml,%3Csvg xmlns='http://www.w3.org/2000/svg' viewBox='0 0 100 100'%3E%3Ctext y='.9em' font-size='90'%3E%F0%9F%94%94%3C/text%3E%3C/svg%3E">
<link rel="stylesheet" href="/console/app.css">
</head>
<body>
<div id="app"><noscript>carebell needs JavaScript.</noscript></div>
<script type="module" src="/console/app.js"></script>
</body>
</html>
`;

/**
 * The web alarm console and the family page: one HTML page at `/`, its script
 * and styles under `/console/`. Everything it shows comes from the API with
 * the user's own token, so it sees exactly what the user's role allows.
 */
export function consoleRoutes(app: Pick<FastifyInstance, 'get'>): void {
  let assets: Promise<ConsoleAssets> | undefined;
  const get = () => (assets ??= loadAssets().catch((err) => {
    assets = undefined;
    throw err;
  }));
  const html = page('zh-CN');

  app.get('/', { schema: { hide: true } }, async (_req, reply) =>
    reply.header('content-type', 'text/html; charset=utf-8').header('cache-control', 'no-cache').send(html), // CSP and the other security headers: @fastify/helmet (api/server.ts)
  );
  app.get('/console/app.js', { schema: { hide: true } }, async (_req, reply) =>
    reply.header('content-type', 'text/javascript; charset=utf-8').header('cache-control', 'no-cache').send((await get()).js),
  );
  app.get('/console/app.css', { schema: { hide: true } }, async (_req, reply) =>
    reply.header('content-type', 'text/css; charset=utf-8').header('cache-control', 'no-cache').send((await get()).css),
  );
}
