import { execFile } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { promisify } from 'node:util';
import { chromium, type Browser, type BrowserContext, type Page } from 'playwright-core';
import { repoRoot, TEST_ADMIN, type TestGateway } from './gateway.js';

/** Debian's Chromium: `.ci/run` installs it with apt-get when it is missing. */
export const CHROMIUM = process.env.GUARDPOST_CHROMIUM ?? '/usr/bin/chromium';
export const consoleSourceDir = path.join(repoRoot, 'console');
export const consoleDistDir = path.join(repoRoot, 'dist/console');
export const screenshotDir = path.join(repoRoot, 'test-results/screenshots');

const run = promisify(execFile);

/** The newest modification time under a directory (or of a file). */
function newestMtimeMs(entry: string): number {
  const stat = fs.statSync(entry);
  if (!stat.isDirectory()) return stat.mtimeMs;
  let newest = stat.mtimeMs;
  for (const name of fs.readdirSync(entry)) newest = Math.max(newest, newestMtimeMs(path.join(entry, name)));
  return newest;
}

export function consoleIsStale(): boolean {
  const built = path.join(consoleDistDir, 'index.html');
  if (!fs.existsSync(built)) return true;
  return newestMtimeMs(consoleSourceDir) > fs.statSync(built).mtimeMs;
}

/**
 * Builds the console with Vite when dist/console is missing or older than console/. Test files
 * run in parallel processes: a lock directory makes one of them build while the others wait.
 */
export async function ensureConsoleBuilt(): Promise<void> {
  if (!consoleIsStale()) return;
  fs.mkdirSync(path.join(repoRoot, 'dist'), { recursive: true });
  const lock = path.join(repoRoot, 'dist/.console-build.lock');
  const deadline = Date.now() + 180_000;
  for (;;) {
    try {
      fs.mkdirSync(lock);
      break;
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw error;
      // A lock older than three minutes belongs to a build that died: take it over.
      if (Date.now() - fs.statSync(lock).mtimeMs > 180_000) fs.rmSync(lock, { recursive: true, force: true });
      if (Date.now() > deadline) throw new Error(`another process holds ${lock} for over three minutes; remove it if no build is running`);
      // Another process is building: poll until its lock is gone (a cross-process wait has nothing to await).
      await new Promise((resolve) => setTimeout(resolve, 250));
    }
  }
  try {
    if (!consoleIsStale()) return;
    const vite = path.join(repoRoot, 'node_modules/vite/bin/vite.js');
    try {
      await run(process.execPath, [vite, 'build', '--config', path.join(consoleSourceDir, 'vite.config.ts')], { cwd: repoRoot, timeout: 170_000 });
    } catch (error) {
      const { stdout, stderr } = error as { stdout?: string; stderr?: string };
      throw new Error(`building the console with Vite failed:\n${stdout ?? ''}${stderr ?? ''}`);
    }
  } finally {
    fs.rmSync(lock, { recursive: true, force: true });
  }
}

/**
 * Launches headless Chromium. The browser tier never skips: without Chromium it fails and says
 * how to install it (CI installs it in .ci/run).
 */
export async function launchBrowser(): Promise<Browser> {
  if (!fs.existsSync(CHROMIUM)) {
    throw new Error(
      `the browser tests need Chromium at ${CHROMIUM}, which is missing${process.env.CI === 'true' ? ' on this CI runner' : ''}: install it with "sudo apt-get install chromium" (.ci/run does this) or set GUARDPOST_CHROMIUM to its path`,
    );
  }
  return chromium.launch({
    executablePath: CHROMIUM,
    headless: true,
    // Root in a container has no user namespace for the sandbox; the alarm beep needs no gesture.
    args: ['--no-sandbox', '--disable-dev-shm-usage', '--autoplay-policy=no-user-gesture-required', '--disable-gpu'],
  });
}

export interface ConsoleSession {
  readonly context: BrowserContext;
  readonly page: Page;
  /** Messages the page logged as errors, and uncaught exceptions: a test may assert none happened. */
  readonly pageErrors: string[];
}

/** A fresh browser context (own sessionStorage) with the console open at `path`, not signed in. */
export async function openConsole(browser: Browser, baseUrl: string, options: { path?: string; width?: number; height?: number } = {}): Promise<ConsoleSession> {
  const context = await browser.newContext({ baseURL: baseUrl, viewport: { width: options.width ?? 1280, height: options.height ?? 900 } });
  const page = await context.newPage();
  const pageErrors: string[] = [];
  page.on('pageerror', (error) => pageErrors.push(error.message));
  page.on('console', (message) => {
    if (message.type() === 'error') pageErrors.push(message.text());
  });
  await page.goto(options.path ?? '/');
  return { context, page, pageErrors };
}

/** Signs in through the form, as a person would, and waits for the signed-in header. */
export async function signIn(page: Page, user: string, password: string): Promise<void> {
  await page.getByLabel('User name').fill(user);
  await page.getByLabel('Password').fill(password);
  await page.getByRole('button', { name: 'Sign in' }).click();
  await page.getByTestId('signed-in-as').waitFor();
}

/** Saves a full-page screenshot for review in test-results/screenshots/ (gitignored). */
export async function screenshot(page: Page, name: string): Promise<void> {
  fs.mkdirSync(screenshotDir, { recursive: true });
  await page.screenshot({ path: path.join(screenshotDir, `${name}.png`), fullPage: true });
}

/** One user per role, added through the API as an admin would. */
export const CONSOLE_USERS = {
  viewer: { user: 'vera-viewer', password: 'viewer-password-1' },
  security: { user: 'sam-security', password: 'security-password-1' },
  admin: { user: TEST_ADMIN.user, password: TEST_ADMIN.password },
} as const;

export async function addConsoleUsers(gw: TestGateway): Promise<void> {
  const headers = { ...(await gw.adminHeaders()), 'content-type': 'application/json' };
  for (const role of ['viewer', 'security'] as const) {
    const { user, password } = CONSOLE_USERS[role];
    const response = await fetch(`${gw.httpUrl}/api/v1/users`, { method: 'POST', headers, body: JSON.stringify({ id: user, role, password }) });
    if (response.status !== 201) throw new Error(`adding ${user} failed with ${response.status}: ${await response.text()}`);
  }
}

/** GET as the seeded admin, expecting 200. */
export async function adminGet<T>(gw: TestGateway, path: string): Promise<T> {
  const response = await fetch(`${gw.httpUrl}${path}`, { headers: await gw.adminHeaders() });
  if (response.status !== 200) throw new Error(`GET ${path} answered ${response.status}: ${await response.text()}`);
  return (await response.json()) as T;
}

/**
 * WCAG 2.1 contrast of every visible text in the page against the background it is painted on
 * (the nearest ancestor with an opaque background): 4.5:1, or 3:1 for large text (24 px, or
 * 18.66 px bold). Disabled controls are exempt, as WCAG allows. Returns the failures, in words.
 */
export async function contrastProblems(page: Page): Promise<string[]> {
  return (await page.evaluate(`(() => {
    const channel = (value) => { const c = value / 255; return c <= 0.03928 ? c / 12.92 : ((c + 0.055) / 1.055) ** 2.4; };
    const parse = (text) => { const m = text.match(/rgba?\\(([^)]+)\\)/); if (!m) return null; const p = m[1].split(/[ ,\\/]+/).filter(Boolean).map(Number); return { r: p[0], g: p[1], b: p[2], a: p.length > 3 ? p[3] : 1 }; };
    const luminance = (c) => 0.2126 * channel(c.r) + 0.7152 * channel(c.g) + 0.0722 * channel(c.b);
    const backgroundOf = (element) => {
      for (let node = element; node; node = node.parentElement) {
        const bg = parse(getComputedStyle(node).backgroundColor);
        if (bg && bg.a >= 0.99) return bg;
      }
      return { r: 255, g: 255, b: 255, a: 1 };
    };
    const problems = [];
    const walker = document.createTreeWalker(document.body, NodeFilter.SHOW_TEXT);
    const seen = new Set();
    for (let text = walker.nextNode(); text; text = walker.nextNode()) {
      const element = text.parentElement;
      if (!element || seen.has(element) || text.textContent.trim() === '') continue;
      seen.add(element);
      if (element.closest('[disabled], .visually-hidden, option, .takeover-backdrop:not(:has(.takeover))')) continue;
      const rect = element.getBoundingClientRect();
      if (rect.width === 0 || rect.height === 0) continue;
      const style = getComputedStyle(element);
      if (style.visibility === 'hidden' || Number(style.opacity) === 0) continue;
      const fg = parse(style.color);
      if (!fg) continue;
      const bg = backgroundOf(element);
      const [light, dark] = [luminance(fg), luminance(bg)].sort((a, b) => b - a);
      const ratio = (light + 0.05) / (dark + 0.05);
      const size = parseFloat(style.fontSize);
      const large = size >= 24 || (size >= 18.66 && Number(style.fontWeight) >= 700);
      if (ratio < (large ? 3 : 4.5)) problems.push(ratio.toFixed(2) + ':1 for "' + text.textContent.trim().slice(0, 40) + '" (' + style.color + ' on rgb(' + bg.r + ', ' + bg.g + ', ' + bg.b + '))');
    }
    return problems;
  })()`)) as string[];
}
