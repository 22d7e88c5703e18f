import SwaggerParser from '@apidevtools/swagger-parser';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startGateway, type TestGateway } from '../helpers/gateway.ts';

/** Routes that are not part of the API contract: the index, the document itself, and the docs page's assets. */
const undocumented = (route: string) => ['GET /', 'GET /api', 'GET /openapi.json'].includes(route) || route.startsWith('GET /docs') || route.startsWith('GET /console/');

describe('OpenAPI document', () => {
  let gw: TestGateway;
  let doc: any;

  beforeAll(async () => {
    gw = await startGateway();
    const res = await fetch(`${gw.urls.httpUrl}/openapi.json`);
    expect(res.status).toBe(200);
    doc = await res.json();
  });
  afterAll(() => gw?.stop());

  it('is a valid OpenAPI 3 document', async () => {
    expect(doc.openapi).toMatch(/^3\./);
    await expect(SwaggerParser.validate(structuredClone(doc))).resolves.toBeDefined();
  });

  it('lists every route the server has, each with a summary and a tag', () => {
    const documented = new Set<string>();
    for (const [path, item] of Object.entries(doc.paths as Record<string, Record<string, { summary?: string; tags?: string[] }>>)) {
      for (const [method, op] of Object.entries(item)) {
        documented.add(`${method.toUpperCase()} ${path.replace(/\{(\w+)\}/g, ':$1')}`);
        expect(op.summary, `${method} ${path}`).toBeTruthy();
        expect(op.tags?.length, `${method} ${path}`).toBe(1);
      }
    }
    const routes = gw.app.api.routeTable.filter((r) => !undocumented(r));
    expect(routes.length).toBeGreaterThan(30);
    expect([...documented].sort()).toEqual([...new Set(routes)].sort());
  });

  it('documents request bodies from the same zod schemas that validate them', () => {
    const createResident = doc.paths['/api/v1/residents'].post.requestBody.content['application/json'].schema;
    expect(createResident.required).toEqual(expect.arrayContaining(['name', 'address', 'stationId', 'livesAlone', 'capabilityLevel']));
    expect(createResident.properties.capabilityLevel).toMatchObject({ minimum: 0, maximum: 4 });
    expect(doc.paths['/api/v1/auth/login'].post.security).toEqual([]);
    expect(doc.security).toEqual([{ bearer: [] }]);
  });

  it('serves the docs page from the gateway itself (no outside assets)', async () => {
    const page = await fetch(`${gw.urls.httpUrl}/docs/static/index.html`);
    const html = await page.text();
    expect(page.status).toBe(200);
    expect(html).toContain('swagger-ui');
    expect(html).not.toMatch(/src="https?:\/\//);
    const init = await (await fetch(`${gw.urls.httpUrl}/docs/static/swagger-initializer.js`)).text();
    expect(init).toContain('/openapi.json');
  });

  it('/readyz says ready while serving, and not ready once the alarm engine has stopped', async () => {
    const ready = await fetch(`${gw.urls.httpUrl}/readyz`);
    expect(ready.status).toBe(200);
    expect(await ready.json()).toMatchObject({ status: 'ready', checks: { broker: { ok: true }, database: { ok: true }, shutdown: { ok: true }, alarms: { ok: true } } });
    await gw.app.engine.stop();
    const stopped = await fetch(`${gw.urls.httpUrl}/readyz`);
    expect(stopped.status).toBe(503);
    expect(await stopped.json()).toMatchObject({ status: 'not_ready', checks: { alarms: { ok: false } } });
    expect((await fetch(`${gw.urls.httpUrl}/healthz`)).status).toBe(200); // alive, just not ready
  });
});
