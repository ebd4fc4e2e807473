import fs from 'node:fs';
import path from 'node:path';
import fastifyStatic from '@fastify/static';
import type { FastifyInstance, FastifyReply } from 'fastify';

/** Where `npm run build` puts the console: `<repo>/dist/console`, from src/api and dist/api alike. */
export const defaultConsoleDir = path.resolve(import.meta.dirname, '../../dist/console');

/**
 * The console's own policy: helmet's default adds `upgrade-insecure-requests`, which would send a
 * browser on a plain-HTTP LAN gateway to https:// for every script and break the page.
 */
const CONSOLE_CSP = [
  "default-src 'self'",
  "script-src 'self'",
  "style-src 'self'",
  "img-src 'self' data: blob:",
  "connect-src 'self'",
  "font-src 'self'",
  "media-src 'self' blob:",
  "object-src 'none'",
  "base-uri 'self'",
  "form-action 'self'",
  "frame-ancestors 'none'",
].join('; ');

const NOT_BUILT_PAGE = `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>guardpost console not built</title></head>
<body style="font-family: system-ui, sans-serif; max-width: 40rem; margin: 2rem auto; line-height: 1.5">
<h1>The guardpost console is not built</h1>
<p>The gateway is running and its API answers under <code>/api/v1/</code>, but the web console's
files are missing from <code>dist/console</code>.</p>
<p>Build them on this machine with <code>npm run build</code> (or <code>npm start</code>, which builds first),
then reload this page.</p>
</body></html>
`;

/** Paths that belong to the server, never to the console's client-side routes. */
const serverPath = (url: string): boolean => /^\/(api|docs|healthz|readyz|metrics)(\/|$)/.test(url);

/**
 * Serves the web console at `/`: its built files as they are, and index.html for any other
 * path so client-side routes (/doors, /people/…) survive a reload. API 404s stay JSON.
 */
export async function registerConsole(app: FastifyInstance, consoleDir: string = defaultConsoleDir): Promise<void> {
  const root = path.resolve(consoleDir);
  // serve: false — only the reply.sendFile decorator; the one route below decides what to send.
  await app.register(fastifyStatic, { root, serve: false });

  const sendIndex = (reply: FastifyReply): FastifyReply => {
    if (!fs.existsSync(path.join(root, 'index.html'))) {
      return reply.status(503).header('cache-control', 'no-store').type('text/html; charset=utf-8').send(NOT_BUILT_PAGE);
    }
    // index.html names the hashed bundles of this build: never cache it.
    return reply.header('content-security-policy', CONSOLE_CSP).header('cache-control', 'no-cache').sendFile('index.html', root, { cacheControl: false });
  };

  app.get('/*', async (request, reply) => {
    const url = request.url.split('?')[0] ?? '/';
    if (serverPath(url)) {
      return reply.status(404).send({ statusCode: 404, code: 'GP_ERR_NOT_FOUND', error: 'Not Found', message: `no route GET ${url}` });
    }
    let relative: string;
    try {
      relative = decodeURIComponent(url).replace(/^\/+/, '');
    } catch {
      return reply.status(400).send({ statusCode: 400, code: 'GP_ERR_BAD_REQUEST', error: 'Bad Request', message: 'the path is not valid percent-encoding' });
    }
    const file = path.resolve(root, relative);
    if (relative !== '' && file.startsWith(root + path.sep) && isFile(file)) {
      // Vite names assets by content hash: they never change under the same name.
      const immutable = relative.startsWith('assets/');
      return reply
        .header('content-security-policy', CONSOLE_CSP)
        .sendFile(relative, root, immutable ? { maxAge: '365d', immutable: true } : { cacheControl: false });
    }
    // A missing asset is a 404, not the page: a browser would try to run HTML as a script.
    if (relative.startsWith('assets/') || /\.(js|css|map|png|svg|ico|json|txt)$/.test(relative)) {
      return reply.status(404).send({ statusCode: 404, code: 'GP_ERR_NOT_FOUND', error: 'Not Found', message: `no file ${url}` });
    }
    return sendIndex(reply);
  });
}

function isFile(file: string): boolean {
  try {
    return fs.statSync(file).isFile();
  } catch {
    return false;
  }
}
