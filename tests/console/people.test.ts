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
  browser = await launchBrowser();
}, 240_000);

afterAll(async () => {
  await browser?.close();
  await reader?.end();
  await strike?.end();
  await gw?.stop();
});

const badge = (card: string) => reader.publish('guardpost/devices/main-entrance-reader/input', JSON.stringify({ type: 'card', card }));

describe('the People screen', () => {
  it('adds a cardholder with a card who then badges in, and a lost card suspended in two clicks is refused at the next badge', async () => {
    const { context, page } = await openConsole(browser, gw.httpUrl, { path: '/people' });
    try {
      await signIn(page, CONSOLE_USERS.admin.user, CONSOLE_USERS.admin.password);
      await page.getByRole('button', { name: 'Add cardholder' }).click();
      const form = page.getByRole('form', { name: 'New cardholder' });
      await form.getByLabel('Id', { exact: true }).fill('erin-evans');
      await form.getByLabel('Name', { exact: true }).fill('Erin Evans');
      await form.getByLabel('Staff').check();
      await form.getByRole('button', { name: 'Add card' }).click();
      await form.getByLabel('Card 1 number').fill('5005');
      await screenshot(page, 'people-new-cardholder');
      await form.getByRole('button', { name: 'Create cardholder' }).click();
      await form.waitFor({ state: 'detached' });
      const row = page.locator('tr[data-cardholder="erin-evans"]');
      await row.getByText('Erin Evans').waitFor();

      // The new card opens the door: a strike pulse on the strike's MQTT topic.
      let mark = strike.mark();
      await badge('5005');
      const pulse = await strike.next((message) => message.json.type === 'strike' && message.json.action === 'pulse', mark);
      expect(pulse.topic).toBe('guardpost/devices/main-entrance-strike/output');

      // Lost: two clicks, and the card is refused from the next read. The card shows masked [SEC-CARD-DIGEST].
      await row.getByRole('button', { name: 'Card ***5 of Erin Evans is lost' }).click();
      await row.getByRole('button', { name: 'Suspend card ***5' }).click();
      await row.getByText('lost', { exact: true }).waitFor();
      const [stored] = (await adminGet<{ credentials: { status: string }[] }>(gw, '/api/v1/cardholders/erin-evans')).credentials;
      expect(stored?.status).toBe('lost');

      mark = reader.mark();
      const strikeMark = strike.mark();
      await badge('5005');
      await reader.next((message) => message.json.type === 'led' && message.json.color === 'red', mark);
      const [denied] = await adminGet<{ type: string; reason: string }[]>(gw, '/api/v1/events?cardholder=erin-evans&limit=1');
      expect(denied).toMatchObject({ type: 'access.denied' });
      expect(strike.received.slice(strikeMark).filter((message) => message.json.type === 'strike' && message.json.action === 'pulse')).toEqual([]);
      await screenshot(page, 'people');
    } finally {
      await context.close();
    }
  });

  it("shows the API's validation errors next to the fields they name and keeps what was typed", async () => {
    const { context, page } = await openConsole(browser, gw.httpUrl, { path: '/people' });
    try {
      await signIn(page, CONSOLE_USERS.admin.user, CONSOLE_USERS.admin.password);
      await page.getByRole('button', { name: 'Add cardholder' }).click();
      const form = page.getByRole('form', { name: 'New cardholder' });
      await form.getByLabel('Id', { exact: true }).fill('frank-ford');
      await form.getByLabel('Name', { exact: true }).fill('Frank Ford');
      await form.getByRole('button', { name: 'Add card' }).click();
      await form.getByLabel('Card 1 number').fill('12a');
      await form.getByRole('button', { name: 'Create cardholder' }).click();

      const card = form.getByLabel('Card 1 number');
      await expect.poll(() => card.getAttribute('aria-invalid')).toBe('true');
      const cardErrorId = (await card.getAttribute('aria-describedby'))!;
      expect(await page.locator(`[id="${cardErrorId}"]`).textContent()).toContain('credentials[0].card: expected 1 to 20 decimal digits');
      // Only the field the API named is marked.
      expect(await form.getByLabel('Name', { exact: true }).getAttribute('aria-invalid')).toBe('false');
      expect(await card.inputValue()).toBe('12a');
      expect(await adminGet<{ id: string }[]>(gw, '/api/v1/cardholders').then((all) => all.some((holder) => holder.id === 'frank-ford'))).toBe(false);
      await screenshot(page, 'people-validation');
    } finally {
      await context.close();
    }
  });

  it('imports cardholders from CSV only after a dry run that names each bad row', async () => {
    const { context, page } = await openConsole(browser, gw.httpUrl, { path: '/people' });
    try {
      await signIn(page, CONSOLE_USERS.admin.user, CONSOLE_USERS.admin.password);
      const csv = page.getByLabel('Or paste the CSV');
      await csv.fill('id,name,status,groups,cards\ngina-green,Gina Green,active,staff,6006\nHarry Hill,,active,nogroup,\n');
      await page.getByRole('button', { name: 'Check (dry run)' }).click();
      const report = page.getByTestId('import-report');
      await report.getByText(/Line 3/).waitFor();
      expect(await page.getByRole('button', { name: 'Import', exact: true }).isDisabled()).toBe(true);

      await csv.fill('id,name,status,groups,cards\ngina-green,Gina Green,active,staff,6006\n');
      await page.getByRole('button', { name: 'Check (dry run)' }).click();
      await report.getByText('The file is clean: press Import to apply it.').waitFor();
      expect(await adminGet<{ id: string }[]>(gw, '/api/v1/cardholders').then((all) => all.some((holder) => holder.id === 'gina-green'))).toBe(false);
      await page.getByRole('button', { name: 'Import', exact: true }).click();
      await report.getByText(/^Imported: 1 row/).waitFor();
      await page.locator('tr[data-cardholder="gina-green"]').waitFor();
      await screenshot(page, 'people-import');
    } finally {
      await context.close();
    }
  });

  it('shows security staff masked cards and no editing, and keeps People from viewers', async () => {
    const security = await openConsole(browser, gw.httpUrl, { path: '/people' });
    try {
      await signIn(security.page, CONSOLE_USERS.security.user, CONSOLE_USERS.security.password);
      const alice = security.page.locator('tr[data-cardholder="alice-adams"]');
      await alice.waitFor();
      expect(await alice.locator('code').first().textContent()).not.toContain('1001');
      expect(await security.page.getByRole('button', { name: 'Add cardholder' }).count()).toBe(0);
      expect(await alice.getByRole('button').count()).toBe(0);
    } finally {
      await security.context.close();
    }
    const viewer = await openConsole(browser, gw.httpUrl, { path: '/people' });
    try {
      await signIn(viewer.page, CONSOLE_USERS.viewer.user, CONSOLE_USERS.viewer.password);
      await viewer.page.getByText('The viewer role may not open this screen; it needs security.').waitFor();
      expect(await viewer.page.getByRole('navigation', { name: 'Screens' }).getByRole('link', { name: 'People' }).count()).toBe(0);
    } finally {
      await viewer.context.close();
    }
  });

  it('lists and searches every cardholder of a site larger than one page of the API', async () => {
    const rows = Array.from({ length: 250 }, (_, index) => `bulk-${String(index).padStart(3, '0')},Bulk Person ${index},active,staff,${700000 + index}`);
    const imported = await fetch(`${gw.httpUrl}/api/v1/cardholders/import`, {
      method: 'POST',
      headers: { ...(await gw.adminHeaders()), 'content-type': 'text/csv' },
      body: `id,name,status,groups,cards\n${rows.join('\n')}\n`,
    });
    expect(imported.status, await imported.clone().text()).toBe(200);
    const total = (await adminGet<unknown[]>(gw, '/api/v1/cardholders?limit=1000')).length;
    expect(total).toBeGreaterThan(250);

    const { context, page } = await openConsole(browser, gw.httpUrl, { path: '/people' });
    try {
      await signIn(page, CONSOLE_USERS.admin.user, CONSOLE_USERS.admin.password);
      await page.getByRole('heading', { name: `Cardholders (${total})` }).waitFor();
      await page.getByText(`Showing 200 of ${total} matches: refine the search to see the others.`).waitFor();
      // Two characters are not sent (a scan of every person at panel scale): the screen says what it needs.
      await page.getByLabel('Search by name, id, group or card').fill('bu');
      await page.getByText('Type at least 3 characters to search (or a group\'s id).').waitFor();
      await page.getByText(`Showing 200 of ${total} matches: refine the search to see the others.`).waitFor();
      // The last of them, beyond the API's first page, is found by search.
      await page.getByLabel('Search by name, id, group or card').fill('bulk-249');
      await page.locator('tr[data-cardholder="bulk-249"]').waitFor();
      expect(await page.locator('tbody tr[data-cardholder]').count()).toBe(1);
    } finally {
      await context.close();
    }
  });

  it("lets an admin give a group another door, and the group's members then badge in there", async () => {
    const serverReader = await connectDevice(gw.mqttUrl, 'server-room-reader');
    const serverStrike = await connectDevice(gw.mqttUrl, 'server-room-strike');
    const { context, page } = await openConsole(browser, gw.httpUrl, { path: '/people' });
    try {
      await signIn(page, CONSOLE_USERS.admin.user, CONSOLE_USERS.admin.password);
      await page.getByRole('button', { name: 'Edit group Staff' }).click();
      const form = page.getByRole('form', { name: 'Edit group Staff' });
      await form.getByLabel('Server room').check();
      await form.getByRole('button', { name: 'Save group' }).click();
      await page.getByTestId('groups').locator('li[data-group="staff"]').getByText('doors: main-entrance, server-room').waitFor();

      const mark = serverStrike.mark();
      await serverReader.publish('guardpost/devices/server-room-reader/input', JSON.stringify({ type: 'card', card: '1001' }));
      await serverStrike.next((message) => message.json.type === 'strike' && message.json.action === 'pulse', mark);
    } finally {
      await context.close();
      await serverReader.end();
      await serverStrike.end();
    }
  });
});
