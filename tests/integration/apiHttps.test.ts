import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import https from 'node:https';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestGateway, tempDir, TEST_ADMIN, type TestGateway } from '../support/gateway.js';

/** A self-signed certificate for 127.0.0.1, made for this run (openssl is a prerequisite of this tier). */
function selfSignedCertificate(dir: string, name = 'gateway'): { certFile: string; keyFile: string; cert: Buffer } {
  const certFile = path.join(dir, `${name}.crt`);
  const keyFile = path.join(dir, `${name}.key`);
  try {
    execFileSync('openssl', ['req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes', '-days', '1', '-subj', '/CN=guardpost test', '-addext', 'subjectAltName=IP:127.0.0.1', '-keyout', keyFile, '-out', certFile], { stdio: 'pipe' });
  } catch (error) {
    throw new Error(`the HTTPS tests need openssl on the PATH to make a test certificate: ${(error as Error).message}`);
  }
  return { certFile, keyFile, cert: fs.readFileSync(certFile) };
}

interface Answer {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  body: string;
}

/** A request over TLS that trusts only the test certificate, so the server's identity is really checked. */
function request(url: string, ca: Buffer, options: { method?: string; headers?: Record<string, string>; body?: string } = {}): Promise<Answer> {
  return new Promise((resolve, reject) => {
    const req = https.request(url, { method: options.method ?? 'GET', headers: options.headers, ca }, (response) => {
      const chunks: Buffer[] = [];
      response.on('data', (chunk: Buffer) => chunks.push(chunk));
      response.on('end', () => resolve({ status: response.statusCode ?? 0, headers: response.headers, body: Buffer.concat(chunks).toString('utf8') }));
    });
    req.on('error', reject);
    req.end(options.body);
  });
}

describe('HTTPS and CORS', () => {
  let gw: TestGateway;
  let cert: Buffer;
  let base: string;

  beforeAll(async () => {
    const stateDir = tempDir();
    const made = selfSignedCertificate(stateDir);
    cert = made.cert;
    gw = await startTestGateway({
      stateDir,
      // Relative paths: they resolve against the config file's directory.
      configYaml: ['demo: false', 'http:', '  tls:', '    certFile: gateway.crt', '    keyFile: gateway.key', '  cors:', '    origins: ["https://console.example.com"]'].join('\n'),
    });
    base = `https://127.0.0.1:${gw.gateway.httpPort}`;
  });
  afterAll(async () => {
    await gw?.stop();
  });

  it('serves the API over HTTPS with the configured certificate, and says so in its start line', async () => {
    const login = await request(`${base}/api/v1/auth/login`, cert, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ user: TEST_ADMIN.user, password: TEST_ADMIN.password }),
    });
    expect(login.status).toBe(200);
    const token = (JSON.parse(login.body) as { token: string }).token;
    const doors = await request(`${base}/api/v1/doors`, cert, { headers: { authorization: `Bearer ${token}` } });
    expect(doors.status).toBe(200);
    expect(doors.headers['strict-transport-security']).toContain('max-age=');
    expect(gw.logs.some((line) => line.includes(`HTTP API on https://`))).toBe(true);
    // Plain HTTP on the same port gets nothing useful: no silent downgrade.
    await expect(fetch(`http://127.0.0.1:${gw.gateway.httpPort}/api/v1/doors`).then((response) => response.status)).rejects.toThrow();
  });

  it('answers a preflight from an allowed origin, exposes the paging headers, and gives other origins no CORS headers', async () => {
    const preflight = await request(`${base}/api/v1/doors`, cert, {
      method: 'OPTIONS',
      headers: { origin: 'https://console.example.com', 'access-control-request-method': 'PUT', 'access-control-request-headers': 'authorization,content-type' },
    });
    expect(preflight.status).toBe(204);
    expect(preflight.headers['access-control-allow-origin']).toBe('https://console.example.com');
    expect(String(preflight.headers['access-control-allow-methods'])).toContain('PUT');
    const allowed = await request(`${base}/healthz`, cert, { headers: { origin: 'https://console.example.com' } });
    expect(allowed.headers['access-control-allow-origin']).toBe('https://console.example.com');
    expect(String(allowed.headers['access-control-expose-headers'])).toContain('x-total-count');
    const other = await request(`${base}/healthz`, cert, { headers: { origin: 'https://evil.example.net' } });
    expect(other.headers['access-control-allow-origin']).toBeUndefined();
    // Anonymous calls are still refused, CORS or not.
    expect((await request(`${base}/api/v1/doors`, cert, { headers: { origin: 'https://console.example.com' } })).status).toBe(401);
  });
});

describe('HTTPS misconfigured', () => {
  it('refuses to start when the key file cannot be read, naming the file', async () => {
    const stateDir = tempDir();
    selfSignedCertificate(stateDir);
    await expect(startTestGateway({ stateDir, configYaml: 'http:\n  tls:\n    certFile: gateway.crt\n    keyFile: missing.key' })).rejects.toMatchObject({
      code: 'GP_ERR_CONFIG_INVALID',
      message: `http.tls.keyFile: cannot read ${path.join(stateDir, 'missing.key')}: ENOENT`,
    });
  });

  it('refuses a key that does not go with the certificate', async () => {
    const stateDir = tempDir();
    selfSignedCertificate(stateDir, 'one');
    selfSignedCertificate(stateDir, 'two');
    await expect(startTestGateway({ stateDir, configYaml: 'http:\n  tls:\n    certFile: one.crt\n    keyFile: two.key' })).rejects.toMatchObject({
      code: 'GP_ERR_CONFIG_INVALID',
      message: expect.stringContaining('are not a PEM certificate and its private key'),
    });
  });

  it('sends no CORS headers when no origins are configured', async () => {
    const gw = await startTestGateway({ configYaml: 'demo: false' });
    try {
      const response = await fetch(`${gw.httpUrl}/healthz`, { headers: { origin: 'https://console.example.com' } });
      expect(response.headers.get('access-control-allow-origin')).toBeNull();
    } finally {
      await gw.stop();
    }
  });

  it('refuses an origin with a path in the config, naming the field', async () => {
    await expect(startTestGateway({ configYaml: 'http:\n  cors:\n    origins: ["https://console.example.com/app"]' })).rejects.toMatchObject({
      code: 'GP_ERR_CONFIG_INVALID',
      details: [expect.stringContaining('http.cors.origins[0]')],
    });
  });
});
