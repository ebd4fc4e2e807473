/**
 * Console load time (issue 9: "loads in under 1 s on the gateway over a LAN"). A real gateway
 * child process serves the built console; headless Chromium opens it with a cold cache each time:
 * time to the sign-in form, and from the sign-in click to the Live screen showing its doors. The
 * floor, measured in the same run, is Node fetching index.html and every asset it names.
 *
 * `npm run bench -- console --runs 20`
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { gzipSync } from 'node:zlib';
import { chromium } from 'playwright-core';
import { hashSecret } from '../src/auth/passwords.js';
import { Store } from '../src/store/index.js';
import { ensureConsoleBuilt } from '../tests/support/browser.js';
import { latencyTable, repoRoot, startGatewayProcess, stopGatewayProcess, summarise } from './support.js';

const runsFlag = process.argv.indexOf('--runs');
const runs = runsFlag === -1 ? 20 : Number(process.argv[runsFlag + 1]);
const USER = { id: 'bench-admin', password: 'bench-admin-password' };

await ensureConsoleBuilt();
const distDir = path.join(repoRoot, 'dist/console');
const files = fs.readdirSync(path.join(distDir, 'assets')).map((name) => path.join(distDir, 'assets', name));
const gzipBytes = [path.join(distDir, 'index.html'), ...files].reduce((sum, file) => sum + gzipSync(fs.readFileSync(file)).length, 0);

const stateDir = fs.mkdtempSync(path.join(os.tmpdir(), 'gp-bench-console-'));
const store = Store.open(stateDir);
store.users.insert({ id: USER.id, role: 'admin', passwordHash: await hashSecret(USER.password), disabled: false, createdMs: Date.now() });
store.close();
const gateway = await startGatewayProcess(path.join(repoRoot, 'config/demo.yaml'), stateDir);
const base = `http://127.0.0.1:${gateway.httpPort}`;
const browser = await chromium.launch({ executablePath: process.env.GUARDPOST_CHROMIUM ?? '/usr/bin/chromium', headless: true, args: ['--no-sandbox', '--disable-dev-shm-usage', '--disable-gpu'] });

const floor: bigint[] = [];
const toForm: bigint[] = [];
const toLive: bigint[] = [];
try {
  for (let run = 0; run < runs; run += 1) {
    // Floor: the same bytes over the same socket stack, without a browser.
    let start = process.hrtime.bigint();
    const html = await (await fetch(`${base}/`)).text();
    const assets = [...html.matchAll(/(?:src|href)="(\/assets\/[^"]+)"/g)].map((match) => match[1]!);
    await Promise.all(assets.map(async (asset) => (await fetch(`${base}${asset}`)).arrayBuffer()));
    floor.push(process.hrtime.bigint() - start);

    const context = await browser.newContext();
    const page = await context.newPage();
    start = process.hrtime.bigint();
    await page.goto(`${base}/`);
    await page.getByRole('button', { name: 'Sign in' }).waitFor();
    toForm.push(process.hrtime.bigint() - start);
    await page.getByLabel('User name').fill(USER.id);
    await page.getByLabel('Password').fill(USER.password);
    start = process.hrtime.bigint();
    await page.getByRole('button', { name: 'Sign in' }).click();
    await page.getByRole('heading', { name: 'Main entrance' }).waitFor();
    toLive.push(process.hrtime.bigint() - start);
    await context.close();
  }
} finally {
  await browser.close();
  await stopGatewayProcess(gateway.child);
  fs.rmSync(stateDir, { recursive: true, force: true });
}

const floorSummary = summarise(floor);
const formSummary = summarise(toForm);
console.log(`console bundle: ${(gzipBytes / 1024).toFixed(1)} kB gzipped (budget 200 kB), ${runs} cold loads`);
console.log(
  latencyTable([
    ['floor: fetch index.html + assets', floorSummary],
    ['browser: open / → sign-in form', formSummary],
    ['browser: sign in → Live with doors', summarise(toLive)],
  ]),
);
console.log(`ratio sign-in form / floor: p50 ${(formSummary.p50 / floorSummary.p50).toFixed(1)}, p99 ${(formSummary.p99 / floorSummary.p99).toFixed(1)}; target: form under 1 s (${(formSummary.p99 / 1000).toFixed(0)} ms at p99)`);
