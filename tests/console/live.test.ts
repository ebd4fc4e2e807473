import type { Browser } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { connectDevice, startTestGateway, type TestGateway } from '../support/gateway.js';
import { ensureConsoleBuilt, launchBrowser, openConsole, screenshot, signIn } from '../support/browser.js';

const USERS = {
  viewer: { user: 'vera-viewer', password: 'viewer-password-1' },
  security: { user: 'sam-security', password: 'security-password-1' },
} as const;

// A browser on a shared 2-core machine: generous time per test, never a timed assertion.
vi.setConfig({ testTimeout: 60_000 });

let gw: TestGateway;
let browser: Browser;

beforeAll(async () => {
  await ensureConsoleBuilt();
  gw = await startTestGateway();
  const headers = { ...(await gw.adminHeaders()), 'content-type': 'application/json' };
  for (const [role, { user, password }] of Object.entries(USERS)) {
    const response = await fetch(`${gw.httpUrl}/api/v1/users`, { method: 'POST', headers, body: JSON.stringify({ id: user, role, password }) });
    expect(response.status, await response.text()).toBe(201);
  }
  browser = await launchBrowser();
}, 240_000);

afterAll(async () => {
  await browser?.close();
  await gw?.stop();
});

describe('the console is served by the gateway', () => {
  it('serves the console at / and at client-side routes, while unknown API routes still answer JSON', async () => {
    const root = await fetch(`${gw.httpUrl}/`);
    expect(root.status).toBe(200);
    expect(root.headers.get('content-type')).toMatch(/text\/html/);
    expect(await root.text()).toContain('<div id="app">');

    const deepLink = await fetch(`${gw.httpUrl}/people/alice-adams`);
    expect(deepLink.status).toBe(200);
    expect(deepLink.headers.get('content-security-policy')).not.toContain('upgrade-insecure-requests');

    const missingApi = await fetch(`${gw.httpUrl}/api/v1/no-such-thing`);
    expect(missingApi.status).toBe(404);
    expect(await missingApi.json()).toMatchObject({ statusCode: 404, code: 'GP_ERR_NOT_FOUND' });

    const missingAsset = await fetch(`${gw.httpUrl}/assets/no-such-file.js`);
    expect(missingAsset.status).toBe(404);
  });
});

describe('signing in', () => {
  it('shows the API refusal in words when the password is wrong, and no token is kept', async () => {
    const { context, page } = await openConsole(browser, gw.httpUrl);
    try {
      await page.getByLabel('User name').fill(USERS.viewer.user);
      await page.getByLabel('Password').fill('not-the-password');
      await page.getByRole('button', { name: 'Sign in' }).click();
      await expect.poll(() => page.getByRole('alert').textContent()).toContain('wrong user name or password');
      expect(await page.evaluate('sessionStorage.getItem("guardpost.session")')).toBeNull();
      await screenshot(page, 'sign-in-error');
    } finally {
      await context.close();
    }
  });

  it('signs in as a viewer, keeps the session in sessionStorage only, and never puts the token in a URL or a cookie', async () => {
    const { context, page } = await openConsole(browser, gw.httpUrl);
    const urls: string[] = [];
    page.on('request', (request) => urls.push(request.url()));
    try {
      await signIn(page, USERS.viewer.user, USERS.viewer.password);
      expect(await page.getByTestId('signed-in-as').textContent()).toContain('vera-viewer (viewer)');
      const stored = (await page.evaluate('JSON.parse(sessionStorage.getItem("guardpost.session") ?? "null")')) as { token: string } | null;
      expect(stored?.token).toMatch(/^gps_/);
      expect(urls.some((url) => url.includes(stored!.token))).toBe(false);
      expect(await context.cookies()).toEqual([]);
      // A reload keeps the tab signed in.
      await page.reload();
      await page.getByTestId('signed-in-as').waitFor();
      expect(page.url()).toMatch(/\/live$/);
    } finally {
      await context.close();
    }
  });
  it('returns to the sign-in form when the session ends on the gateway, and signing out forgets the token', async () => {
    const { context, page } = await openConsole(browser, gw.httpUrl);
    try {
      await signIn(page, USERS.viewer.user, USERS.viewer.password);
      const stored = (await page.evaluate('JSON.parse(sessionStorage.getItem("guardpost.session"))')) as { token: string };
      // The session is revoked behind the console's back (as a restart or the idle limit would).
      const logout = await fetch(`${gw.httpUrl}/api/v1/auth/logout`, { method: 'POST', headers: { authorization: `Bearer ${stored.token}` } });
      expect(logout.status).toBe(204);
      // The console finds out at its next request: the one an event on the live feed sets off,
      // or the one opening another screen does, whichever comes first.
      const doors = page.getByRole('link', { name: 'Doors' });
      const signInButton = page.getByRole('button', { name: 'Sign in' });
      await doors.or(signInButton).first().waitFor();
      if (await doors.isVisible()) await doors.click({ timeout: 2_000 }).catch(() => undefined);
      await signInButton.waitFor();
      expect(await page.evaluate('sessionStorage.getItem("guardpost.session")')).toBeNull();

      await signIn(page, USERS.viewer.user, USERS.viewer.password);
      const second = (await page.evaluate('JSON.parse(sessionStorage.getItem("guardpost.session"))')) as { token: string };
      await page.getByRole('button', { name: 'Sign out' }).click();
      await page.getByRole('button', { name: 'Sign in' }).waitFor();
      expect(await page.evaluate('sessionStorage.getItem("guardpost.session")')).toBeNull();
      // Signing out ended the session on the gateway too.
      expect((await fetch(`${gw.httpUrl}/api/v1/auth/me`, { headers: { authorization: `Bearer ${second.token}` } })).status).toBe(401);
    } finally {
      await context.close();
    }
  });
});

describe('the Live screen', () => {
  it('shows the doors and a badge made through MQTT appears in the live feed and on its door', async () => {
    const { context, page } = await openConsole(browser, gw.httpUrl);
    const reader = await connectDevice(gw.mqttUrl, 'main-entrance-reader');
    try {
      await signIn(page, USERS.viewer.user, USERS.viewer.password);
      await expect.poll(() => page.getByTestId('stream-status').textContent()).toContain('live');
      await page.getByRole('heading', { name: 'Main entrance' }).waitFor();
      await page.getByRole('heading', { name: 'Server room' }).waitFor();
      expect(await page.getByTestId('threat-level').textContent()).toContain('Normal');

      await reader.publish('guardpost/devices/main-entrance-reader/input', JSON.stringify({ type: 'card', card: '1001' }));
      const feed = page.getByTestId('feed');
      await feed.getByText('access granted alice-adams at main-entrance').first().waitFor();
      await expect.poll(() => page.getByTestId('last-event-main-entrance').textContent()).toContain('alice-adams');

      // A refused card shows too, with its reason in words.
      await reader.publish('guardpost/devices/main-entrance-reader/input', JSON.stringify({ type: 'card', card: '1004' }));
      await feed.getByText(/access denied dave-davis at main-entrance \(credential suspended\)/).first().waitFor();
      await screenshot(page, 'live');
    } finally {
      await reader.end();
      await context.close();
    }
  });

  it('resumes the live feed after the connection drops, showing the events it missed once and in order', async () => {
    const { context, page } = await openConsole(browser, gw.httpUrl);
    const reader = await connectDevice(gw.mqttUrl, 'main-entrance-reader');
    const streamRequests: (string | undefined)[] = [];
    page.on('request', (request) => {
      if (request.url().endsWith('/api/v1/events/stream')) streamRequests.push(request.headers()['last-event-id']);
    });
    try {
      await signIn(page, USERS.viewer.user, USERS.viewer.password);
      await expect.poll(() => page.getByTestId('stream-status').textContent()).toContain('live');
      // Cut the stream as a network drop would, and keep refusing reconnects until the badge is in.
      await page.route('**/api/v1/events/stream', (route) => route.abort('connectionreset'));
      gw.gateway.app.server.closeAllConnections();
      await expect.poll(() => page.getByTestId('stream-status').textContent()).toContain('reconnecting');
      // Journalled while the console is cut off.
      const journalled = waitForEvent(gw, (event) => event.type === 'access.granted' && event.cardholder === 'bob-brown');
      await reader.publish('guardpost/devices/main-entrance-reader/input', JSON.stringify({ type: 'card', card: '1002' }));
      const missed = await journalled;
      await page.unroute('**/api/v1/events/stream');
      await page.getByTestId('feed').getByText('access granted bob-brown at main-entrance').first().waitFor({ timeout: 15_000 });
      expect(await page.getByTestId('feed').getByText('access granted bob-brown at main-entrance').count()).toBe(1);
      // The reconnect asked for what came after the last event the page had seen.
      const resumedFrom = streamRequests.slice(1).find((id) => id !== undefined);
      expect(Number(resumedFrom)).toBeLessThan(missed.seq);
    } finally {
      await reader.end();
      await context.close();
    }
  });
});

describe('the threat level', () => {
  it('lets security staff raise and lower the threat level from the Live screen, and viewers only see it', async () => {
    const { context, page } = await openConsole(browser, gw.httpUrl);
    try {
      await signIn(page, USERS.security.user, USERS.security.password);
      await page.getByTestId('threat-level').getByText('Normal').waitFor();
      await page.getByLabel('Set level').selectOption('elevated');
      await page.getByLabel('Reason').fill('Suspicious parcel at reception');
      await page.getByRole('button', { name: 'Change level' }).click();
      await page.getByTestId('threat-level').getByText('Elevated').waitFor();
      const headers = await gw.adminHeaders();
      expect(await (await fetch(`${gw.httpUrl}/api/v1/threat-level`, { headers })).json()).toMatchObject({ level: 'elevated' });
      await page.getByLabel('Set level').selectOption('normal');
      await page.getByRole('button', { name: 'Change level' }).click();
      await page.getByTestId('threat-level').getByText('Normal').waitFor();
    } finally {
      await context.close();
    }
    const viewer = await openConsole(browser, gw.httpUrl);
    try {
      await signIn(viewer.page, USERS.viewer.user, USERS.viewer.password);
      await viewer.page.getByTestId('threat-level').getByText('Normal').waitFor();
      expect(await viewer.page.getByLabel('Set level').count()).toBe(0);
    } finally {
      await viewer.context.close();
    }
  });
});

describe('alarm handling in the console', () => {
  it('takes over the screen when a panic button is pressed through MQTT, then acknowledges and clears it with a note and a resolution', async () => {
    const { context, page } = await openConsole(browser, gw.httpUrl);
    const button = await connectDevice(gw.mqttUrl, 'reception-panic');
    try {
      await signIn(page, USERS.security.user, USERS.security.password);
      await expect.poll(() => page.getByTestId('stream-status').textContent()).toContain('live');
      await button.publish('guardpost/devices/reception-panic/input', JSON.stringify({ type: 'button', state: 'pressed' }));

      const takeover = page.getByRole('alertdialog');
      await takeover.getByRole('heading', { name: 'Panic alarm at Reception desk' }).waitFor();
      expect(await takeover.getByTestId('escalation').textContent()).toMatch(/not escalated · next escalation in \d+:\d\d/);
      // The reception camera is triggered on panic: the panel lists it once it is journalled.
      await takeover.getByTestId('camera-triggers').getByText(/camera (triggered|failed)/).first().waitFor({ timeout: 15_000 });
      expect(await page.evaluate('document.activeElement?.id ?? ""')).toMatch(/^ack-note-/);
      await screenshot(page, 'alarm-takeover');
      // It sounds until acknowledged (Silence is offered while it does), and the page behind is inert.
      await takeover.getByRole('button', { name: 'Silence' }).waitFor();
      expect(await page.locator('#main').getAttribute('inert')).not.toBeNull();

      await takeover.getByLabel('Acknowledgement note').fill('On my way, CCTV shows a visitor at the desk');
      await takeover.getByRole('button', { name: 'Acknowledge' }).click();
      await takeover.getByLabel('Resolution').waitFor();
      expect(await takeover.getByRole('button', { name: 'Silence' }).count()).toBe(0);
      const [alarm] = await fetchJson<{ id: string; state: string; acknowledged: { by: string; note: string } }[]>(gw, '/api/v1/alarms');
      expect(alarm?.state).toBe('acknowledged');
      expect(alarm?.acknowledged).toMatchObject({ by: USERS.security.user, note: 'On my way, CCTV shows a visitor at the desk' });

      // One click to the incident report, which already names who acknowledged.
      await takeover.getByRole('button', { name: 'Incident report' }).click();
      await page.getByRole('heading', { name: `Incident report: alarm ${alarm!.id}` }).waitFor();
      await page.getByTestId('report-summary').getByText(`by ${USERS.security.user}`).waitFor();
      expect(page.url()).toMatch(new RegExp(`/alarms/${alarm!.id}/report$`));
      await screenshot(page, 'incident-report');

      // Back on Live, the open alarm heads the screen; "Handle" brings its panel back to clear it.
      await page.getByRole('link', { name: 'Live' }).click();
      await page.getByRole('button', { name: 'Handle' }).click();
      await takeover.getByLabel('Resolution').fill('False alarm: a visitor leaned on the button');
      await takeover.getByRole('button', { name: 'Clear alarm' }).click();
      await takeover.waitFor({ state: 'detached' });
      await button.publish('guardpost/devices/reception-panic/input', JSON.stringify({ type: 'button', state: 'released' }));
      expect(await fetchJson<unknown[]>(gw, '/api/v1/alarms')).toEqual([]);
      const cleared = await fetchJson<{ type: string; data: Record<string, unknown> }[]>(gw, `/api/v1/events?alarm=${alarm!.id}&type=alarm.cleared`);
      expect(cleared[0]?.data).toMatchObject({ by: USERS.security.user, resolution: 'False alarm: a visitor leaned on the button' });
    } finally {
      await button.end();
      await context.close();
    }
  });

  it('shows a viewer the takeover without the acknowledge button or the incident report, and lets it be hidden', async () => {
    const { context, page } = await openConsole(browser, gw.httpUrl);
    const button = await connectDevice(gw.mqttUrl, 'reception-panic');
    try {
      await signIn(page, USERS.viewer.user, USERS.viewer.password);
      await expect.poll(() => page.getByTestId('stream-status').textContent()).toContain('live');
      await button.publish('guardpost/devices/reception-panic/input', JSON.stringify({ type: 'button', state: 'pressed' }));
      const takeover = page.getByRole('alertdialog');
      await takeover.getByText('Acknowledging and clearing alarms needs the security role.').waitFor();
      expect(await takeover.getByRole('button', { name: 'Acknowledge' }).count()).toBe(0);
      expect(await takeover.getByRole('button', { name: 'Incident report' }).count()).toBe(0);
      await page.keyboard.press('Escape');
      await takeover.waitFor({ state: 'detached' });
      // Hidden is not gone: the open alarm stays at the top of the Live screen.
      await page.getByRole('heading', { name: 'Open alarms (1)' }).waitFor();
      expect(await page.getByRole('link', { name: 'Incident report' }).count()).toBe(0);
    } finally {
      await button.end();
      await context.close();
      // Leave no open alarm for the next test.
      const headers = { ...(await gw.adminHeaders()), 'content-type': 'application/json' };
      for (const alarm of await fetchJson<{ id: string }[]>(gw, '/api/v1/alarms')) {
        await fetch(`${gw.httpUrl}/api/v1/alarms/${alarm.id}/acknowledge`, { method: 'POST', headers, body: JSON.stringify({ note: 'test cleanup' }) });
        await fetch(`${gw.httpUrl}/api/v1/alarms/${alarm.id}/clear`, { method: 'POST', headers, body: JSON.stringify({ resolution: 'test cleanup' }) });
      }
    }
  });
});

async function fetchJson<T>(gateway: TestGateway, path: string): Promise<T> {
  const response = await fetch(`${gateway.httpUrl}${path}`, { headers: await gateway.adminHeaders() });
  expect(response.status, await response.clone().text()).toBe(200);
  return (await response.json()) as T;
}

/** Resolves with the next journal event that matches (subscribe before causing it). */
function waitForEvent(gateway: TestGateway, match: (event: { type: string; cardholder: string | null; seq: number }) => boolean): Promise<{ seq: number }> {
  return new Promise((resolve) => {
    const unsubscribe = gateway.gateway.journal.onAppend((event) => {
      if (!match(event)) return;
      unsubscribe();
      resolve(event);
    });
  });
}
