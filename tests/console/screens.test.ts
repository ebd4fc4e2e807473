import fs from 'node:fs';
import type { Browser } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { connectDevice, startTestGateway, type TestClient, type TestGateway } from '../support/gateway.js';
import { addConsoleUsers, adminGet, CONSOLE_USERS, contrastProblems, ensureConsoleBuilt, launchBrowser, openConsole, screenshot, signIn } from '../support/browser.js';

// A browser on a shared 2-core machine: generous time per test, never a timed assertion.
vi.setConfig({ testTimeout: 60_000 });

let gw: TestGateway;
let browser: Browser;
let reader: TestClient;

beforeAll(async () => {
  await ensureConsoleBuilt();
  // A webhook forwarder to a port nobody listens on: its status shows lag and the last error.
  gw = await startTestGateway({
    configYaml: [
      'demo: true',
      'forwarders:',
      '  - id: incident-webhook',
      '    kind: webhook',
      '    url: http://127.0.0.1:9/events',
      '    secret: whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw',
      '    initialBackoffMs: 20',
      '    maxBackoffMs: 200',
      '    failingAfterMs: 0',
    ].join('\n'),
  });
  await addConsoleUsers(gw);
  reader = await connectDevice(gw.mqttUrl, 'main-entrance-reader');
  browser = await launchBrowser();
}, 240_000);

afterAll(async () => {
  await browser?.close();
  await reader?.end();
  await gw?.stop();
});

describe('the History screen', () => {
  it('filters the journal, names a bad filter next to its field, exports CSV and links incident reports', async () => {
    const granted = reader.mark();
    await reader.publish('guardpost/devices/main-entrance-reader/input', JSON.stringify({ type: 'card', card: '1001' }));
    await reader.next((message) => message.json.type === 'led', granted);
    await reader.publish('guardpost/devices/main-entrance-reader/input', JSON.stringify({ type: 'card', card: '1004' }));
    const headers = { ...(await gw.adminHeaders()), 'content-type': 'application/json' };
    const raised = await fetch(`${gw.httpUrl}/api/v1/alarms`, { method: 'POST', headers, body: JSON.stringify({ location: 'Desk 12' }) });
    const alarm = (await raised.json()) as { id: string };

    const { context, page } = await openConsole(browser, gw.httpUrl, { path: '/history' });
    try {
      await signIn(page, CONSOLE_USERS.security.user, CONSOLE_USERS.security.password);
      // The raised alarm takes over; hide it to work on the history.
      await page.getByRole('alertdialog').getByRole('button', { name: 'Hide' }).click();
      const form = page.getByRole('form', { name: 'Event filters' });
      await form.getByLabel('Cardholder').fill('alice-adams');
      await form.getByRole('button', { name: 'Search' }).click();
      const table = page.getByTestId('history');
      await table.getByText('access granted alice-adams at main-entrance').first().waitFor();
      await expect.poll(async () => (await table.locator('tbody tr').allTextContents()).every((row) => row.includes('alice-adams'))).toBe(true);

      await form.getByLabel('Door').fill('Main Entrance!');
      await form.getByRole('button', { name: 'Search' }).click();
      const door = form.getByLabel('Door');
      await expect.poll(() => door.getAttribute('aria-invalid')).toBe('true');
      expect(await page.locator(`[id="${(await door.getAttribute('aria-describedby'))!}"]`).textContent()).toContain('door');

      await form.getByLabel('Door').fill('');
      await form.getByLabel('Cardholder').fill('');
      await form.getByLabel('Event type').fill('access.denied');
      await form.getByRole('button', { name: 'Search' }).click();
      await table.getByText(/access denied dave-davis/).first().waitFor();
      const [download] = await Promise.all([page.waitForEvent('download'), form.getByRole('button', { name: 'Export CSV' }).click()]);
      const csv = fs.readFileSync((await download.path())!, 'utf8');
      expect(download.suggestedFilename()).toBe('guardpost-events.csv');
      const lines = csv.trim().split('\r\n');
      expect(lines[0]).toBe('seq,id,time,type,severity,site,door,device,cardholder,reason,data');
      expect(lines.length).toBeGreaterThan(1);
      expect(lines.slice(1).every((line) => line.includes(',access.denied,'))).toBe(true);

      await page.getByTestId('incident-reports').getByRole('link', { name: `Incident report for ${alarm.id}` }).click();
      await page.getByRole('heading', { name: `Incident report: alarm ${alarm.id}` }).waitFor();
      await page.goto('/history');
      await page.getByTestId('history').locator('tbody tr').first().waitFor();
      await screenshot(page, 'history');
    } finally {
      await context.close();
      await fetch(`${gw.httpUrl}/api/v1/alarms/${alarm.id}/acknowledge`, { method: 'POST', headers, body: JSON.stringify({ note: 'test' }) });
      await fetch(`${gw.httpUrl}/api/v1/alarms/${alarm.id}/clear`, { method: 'POST', headers, body: JSON.stringify({ resolution: 'test' }) });
    }
  });
});

describe('the Schedules screen', () => {
  it("shows a schedule's week with its hours and marks the week's bank holiday", async () => {
    const { context, page, pageErrors } = await openConsole(browser, gw.httpUrl, { path: '/schedules' });
    try {
      // The week of Christmas 2026 in the demo site's England and Wales calendar.
      await page.clock.setFixedTime(new Date('2026-12-23T12:00:00'));
      await page.reload();
      await signIn(page, CONSOLE_USERS.admin.user, CONSOLE_USERS.admin.password);
      const week = page.getByTestId('week');
      await week.getByText('Fri 25 · England and Wales bank holidays').waitFor();
      expect(await week.locator('[data-day="mon"]').textContent()).toContain('07:00–19:00');
      expect(await week.locator('[data-day="fri"]').textContent()).toContain('closed all day');
      expect(await week.locator('[data-day="sat"]').textContent()).toContain('closed all day');
      await page.getByRole('button', { name: 'Next week' }).click();
      await week.getByText('Mon 28 · England and Wales bank holidays').waitFor();
      expect(pageErrors.filter((message) => /Content Security Policy/i.test(message))).toEqual([]);
      await screenshot(page, 'schedules');
    } finally {
      await context.close();
    }
  });
});

describe('the Settings screen', () => {
  it("shows forwarders' lag and last error, and lets security staff start and end a drill", async () => {
    const { context, page } = await openConsole(browser, gw.httpUrl, { path: '/settings' });
    try {
      await signIn(page, CONSOLE_USERS.security.user, CONSOLE_USERS.security.password);
      const row = page.getByTestId('forwarders').locator('tr[data-forwarder="incident-webhook"]');
      await row.getByText(/ECONNREFUSED|fetch failed|connect/i).waitFor({ timeout: 20_000 });
      expect(await row.textContent()).toMatch(/\d+ event\(s\)/);
      await page.getByLabel('Drill length (minutes)').fill('30');
      await page.getByRole('button', { name: 'Start a drill' }).click();
      await page.getByTestId('drill').getByText(/drill running .* started by sam-security/).waitFor();
      expect(await adminGet<{ running: boolean; startedBy: string }>(gw, '/api/v1/drills/current')).toMatchObject({ running: true });
      await screenshot(page, 'settings-security');
      await page.getByRole('button', { name: 'End the drill' }).click();
      await page.getByTestId('drill').getByText('No drill is running.').waitFor();
      expect(await page.getByTestId('users').count()).toBe(0);
    } finally {
      await context.close();
    }
  });

  it('lets an admin add a user who can then sign in, and create an API token shown once and revoke it', async () => {
    const { context, page } = await openConsole(browser, gw.httpUrl, { path: '/settings' });
    try {
      await signIn(page, CONSOLE_USERS.admin.user, CONSOLE_USERS.admin.password);
      const newUser = page.getByRole('form', { name: 'New user' });
      await newUser.getByLabel('New user name').fill('nina-night');
      await newUser.getByLabel('Role').selectOption('security');
      await newUser.getByLabel('Password').fill('night-shift-password');
      await newUser.getByRole('button', { name: 'Add user' }).click();
      await page.getByTestId('users').locator('tr[data-user="nina-night"]').waitFor();
      expect(await gw.login('nina-night', 'night-shift-password')).toMatch(/^gps_/);

      const newToken = page.getByRole('form', { name: 'New API token' });
      await newToken.getByLabel('Token name').fill('incident-system');
      await newToken.getByRole('button', { name: 'Create token' }).click();
      const token = (await page.getByTestId('new-token').textContent())!;
      expect(token).toMatch(/^gpt_/);
      expect((await fetch(`${gw.httpUrl}/api/v1/auth/me`, { headers: { authorization: `Bearer ${token}` } })).status).toBe(200);
      await screenshot(page, 'settings-admin');
      await page.getByRole('button', { name: 'I have copied it' }).click();
      await page.getByRole('button', { name: 'Revoke incident-system' }).click();
      await page.getByTestId('tokens').getByText(/^revoked /).waitFor();
      expect((await fetch(`${gw.httpUrl}/api/v1/auth/me`, { headers: { authorization: `Bearer ${token}` } })).status).toBe(401);
    } finally {
      await context.close();
    }
  });
});

describe('on a phone', () => {
  it('fits the Live screen and its navigation in a 390-pixel-wide screen without sideways scrolling', async () => {
    const { context, page } = await openConsole(browser, gw.httpUrl, { width: 390, height: 844 });
    try {
      await signIn(page, CONSOLE_USERS.viewer.user, CONSOLE_USERS.viewer.password);
      await page.getByRole('heading', { name: 'Main entrance' }).waitFor();
      expect(await page.evaluate('document.documentElement.scrollWidth <= window.innerWidth')).toBe(true);
      // Viewers see only the screens the viewer role may use.
      const nav = page.getByRole('navigation', { name: 'Screens' });
      expect(await nav.getByRole('link').allTextContents()).toEqual(['Live', 'Doors', 'Evacuation', 'Schedules', 'History', 'Settings']);
      await screenshot(page, 'live-phone');
    } finally {
      await context.close();
    }
  });
});

describe('accessibility', () => {
  it('signs in and moves between screens with the keyboard alone, every screen meeting AA contrast', async () => {
    const { context, page } = await openConsole(browser, gw.httpUrl);
    try {
      await page.keyboard.press('Tab');
      await page.keyboard.type(CONSOLE_USERS.admin.user);
      await page.keyboard.press('Tab');
      await page.keyboard.type(CONSOLE_USERS.admin.password);
      await page.keyboard.press('Enter');
      await page.getByTestId('signed-in-as').waitFor();
      expect(await contrastProblems(page)).toEqual([]);
      // The check itself sees a light grey on white (2.3:1), so a pass above means something.
      await page.evaluate(`(() => { const probe = document.createElement('p'); probe.id = 'probe'; probe.textContent = 'faint text'; probe.style.color = '#999999'; probe.style.background = '#ffffff'; document.body.append(probe); })()`);
      expect(await contrastProblems(page)).toEqual([expect.stringContaining('"faint text"')]);
      await page.evaluate(`document.getElementById('probe').remove()`);

      for (const [screen, ready] of [
        ['Doors', 'Lockdowns'],
        ['People', 'Import cardholders from CSV'],
        ['Schedules', 'Holiday calendars'],
        ['History', 'Incident reports'],
        ['Settings', 'API tokens'],
      ] as const) {
        // Links are focusable and follow Enter like a click.
        const link = page.getByRole('navigation', { name: 'Screens' }).getByRole('link', { name: screen, exact: true });
        await link.focus();
        await page.keyboard.press('Enter');
        await page.getByRole('heading', { name: ready }).waitFor();
        expect(await contrastProblems(page), `contrast on ${screen}`).toEqual([]);
      }
    } finally {
      await context.close();
    }
  });
});
