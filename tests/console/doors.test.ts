import type { Browser } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { connectDevice, startTestGateway, type TestClient, type TestGateway } from '../support/gateway.js';
import { addConsoleUsers, adminGet, CONSOLE_USERS, ensureConsoleBuilt, launchBrowser, openConsole, screenshot, signIn } from '../support/browser.js';

// A browser on a shared 2-core machine: generous time per test, never a timed assertion.
vi.setConfig({ testTimeout: 60_000 });

let gw: TestGateway;
let browser: Browser;
let reader: TestClient;
let strike: TestClient;

beforeAll(async () => {
  await ensureConsoleBuilt();
  gw = await startTestGateway();
  await addConsoleUsers(gw);
  reader = await connectDevice(gw.mqttUrl, 'main-entrance-reader');
  strike = await connectDevice(gw.mqttUrl, 'main-entrance-strike');
  // As a real device announces itself (its will says offline).
  await reader.client.publishAsync('guardpost/devices/main-entrance-reader/availability', 'online', { qos: 1, retain: true });
  browser = await launchBrowser();
}, 240_000);

afterAll(async () => {
  await browser?.close();
  await reader?.end();
  await strike?.end();
  await gw?.stop();
});

describe('the Doors screen', () => {
  it('lets security staff unlock a door momentarily, lock it down and release it, and shows its devices online', async () => {
    const { context, page } = await openConsole(browser, gw.httpUrl, { path: '/doors' });
    try {
      await signIn(page, CONSOLE_USERS.security.user, CONSOLE_USERS.security.password);
      const door = page.locator('li[data-door="main-entrance"]');
      await door.locator('tr[data-device="main-entrance-reader"]').getByText('online').waitFor();

      let mark = strike.mark();
      await door.getByRole('button', { name: 'Unlock Main entrance for 5 s' }).click();
      const pulse = await strike.next((message) => message.json.type === 'strike' && message.json.action === 'pulse', mark);
      expect(pulse.json.durationMs).toBe(5000);

      await door.getByRole('button', { name: 'Lock down Main entrance' }).click();
      await door.getByText('lockdown', { exact: true }).waitFor();
      await page.getByTestId('lockdowns').getByText(/door main-entrance since .* by sam-security/).waitFor();
      expect((await adminGet<{ lockedDownDoors: string[] }>(gw, '/api/v1/lockdowns')).lockedDownDoors).toEqual(['main-entrance']);

      // A badge during the lockdown is refused.
      mark = reader.mark();
      await reader.publish('guardpost/devices/main-entrance-reader/input', JSON.stringify({ type: 'card', card: '1001' }));
      await reader.next((message) => message.json.type === 'led' && message.json.color === 'red', mark);
      await screenshot(page, 'doors');

      await door.getByRole('button', { name: 'Release lockdown' }).click();
      await page.getByTestId('lockdowns').getByText('No lockdown in force.').waitFor();
      expect((await adminGet<{ lockedDownDoors: string[] }>(gw, '/api/v1/lockdowns')).lockedDownDoors).toEqual([]);
      // Security staff may command doors but not change their configuration.
      expect(await door.getByText('Change mode and schedule').count()).toBe(0);
    } finally {
      await context.close();
    }
  });

  it("lets an admin change a door's mode, with the API's complaint under the field it names", async () => {
    const { context, page } = await openConsole(browser, gw.httpUrl, { path: '/doors' });
    try {
      await signIn(page, CONSOLE_USERS.admin.user, CONSOLE_USERS.admin.password);
      const door = page.locator('li[data-door="server-room"]');
      await door.getByText('Change mode and schedule').click();
      await door.getByLabel('Mode').selectOption('locked');
      await door.getByLabel('Unlock time (seconds)').fill('0.05');
      await door.getByRole('button', { name: 'Save Server room' }).click();
      const unlockTime = door.getByLabel('Unlock time (seconds)');
      await expect.poll(() => unlockTime.getAttribute('aria-invalid')).toBe('true');
      expect(await page.locator(`[id="${(await unlockTime.getAttribute('aria-describedby'))!}"]`).textContent()).toContain('unlockMs: expected integer ≥ 100');

      await unlockTime.fill('4');
      await door.getByRole('button', { name: 'Save Server room' }).click();
      await door.getByText('Mode: locked').waitFor();
      expect(await adminGet<{ mode: string; unlockMs: number }>(gw, '/api/v1/doors/server-room')).toMatchObject({ mode: 'locked', unlockMs: 4000 });
    } finally {
      await context.close();
    }
  });

  it('shows viewers the doors and their state without any command', async () => {
    const { context, page } = await openConsole(browser, gw.httpUrl, { path: '/doors' });
    try {
      await signIn(page, CONSOLE_USERS.viewer.user, CONSOLE_USERS.viewer.password);
      await page.getByRole('heading', { name: 'Main entrance' }).waitFor();
      expect(await page.getByRole('main').getByRole('button').count()).toBe(0);
    } finally {
      await context.close();
    }
  });
});
