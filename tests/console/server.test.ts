import fs from 'node:fs';
import path from 'node:path';
import Fastify from 'fastify';
import { describe, expect, it } from 'vitest';
import { registerConsole } from '../../src/api/console.js';
import { tempDir } from '../support/gateway.js';

async function appServing(dir: string) {
  const app = Fastify();
  await registerConsole(app, dir);
  return app;
}

describe('serving the console', () => {
  it('says in words how to build the console when dist/console is missing', async () => {
    const app = await appServing(path.join(tempDir(), 'no-console-here'));
    const response = await app.inject({ method: 'GET', url: '/' });
    expect(response.statusCode).toBe(503);
    expect(response.headers['content-type']).toMatch(/text\/html/);
    expect(response.body).toContain('The guardpost console is not built');
    expect(response.body).toContain('npm run build');
    await app.close();
  });

  it('answers index.html for client-side routes, hashed assets as immutable files, and JSON for API paths', async () => {
    const dir = tempDir();
    fs.mkdirSync(path.join(dir, 'assets'));
    fs.writeFileSync(path.join(dir, 'index.html'), '<!doctype html><div id="app"></div>');
    fs.writeFileSync(path.join(dir, 'assets/index-abc123.js'), 'console.log(1)');
    const app = await appServing(dir);

    const deepLink = await app.inject({ method: 'GET', url: '/people/alice-adams?tab=cards' });
    expect(deepLink.statusCode).toBe(200);
    expect(deepLink.body).toContain('<div id="app">');
    expect(deepLink.headers['cache-control']).toBe('no-cache');

    const asset = await app.inject({ method: 'GET', url: '/assets/index-abc123.js' });
    expect(asset.statusCode).toBe(200);
    expect(asset.headers['cache-control']).toContain('immutable');

    const api = await app.inject({ method: 'GET', url: '/api/v1/whatever' });
    expect(api.statusCode).toBe(404);
    expect(api.json()).toMatchObject({ code: 'GP_ERR_NOT_FOUND', message: 'no route GET /api/v1/whatever' });

    const traversal = await app.inject({ method: 'GET', url: '/..%2f..%2fetc%2fpasswd' });
    expect(traversal.body).not.toContain('root:');
    await app.close();
  });
});
