import fs from 'node:fs';
import type { Browser, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import type { JournalEvent } from '../../src/journal/index.js';
import { connect, connectDevice, startTestGateway, type TestClient, type TestGateway } from '../support/gateway.js';
import { addConsoleUsers, CONSOLE_USERS, contrastProblems, ensureConsoleBuilt, launchBrowser, openConsole, screenshot, signIn, type ConsoleSession } from '../support/browser.js';

/** Threat management's console screens (issue 12) against a real gateway, real MQTT devices and headless Chromium. */

// A browser on a shared 2-core machine: generous time per test, never a timed assertion.
vi.setConfig({ testTimeout: 90_000 });

const SITE_YAML = `
site: { id: floor, name: Contact centre floor, timezone: Europe/London }
devices:
  - { id: in-reader, name: Floor entrance reader, kind: reader }
  - { id: in-strike, kind: strike }
  - { id: out-reader, name: Floor exit reader, kind: reader }
  - { id: out-strike, kind: strike }
  - { id: fire-panel, name: Fire alarm panel, kind: fire-alarm }
  - { id: car-park-reader, name: Car park reader, kind: reader }
doors:
  - { id: floor-in, name: Floor entrance, reader: in-reader, strike: in-strike }
  - { id: floor-out, name: Floor exit, reader: out-reader, strike: out-strike }
groups:
  - { id: staff, name: Staff, doors: [floor-in, floor-out] }
  - { id: visitors, name: Visitors, doors: [floor-in, floor-out] }
areas:
  - { id: floor, name: Office floor, entryDoors: [floor-in], exitDoors: [floor-out] }
cardholders:
  - { id: alice, name: Alice Archer, groups: [staff], credentials: [{ card: "1001" }] }
  - { id: bob, name: Bob Baker, groups: [staff], credentials: [{ card: "1002" }] }
  - { id: carol, name: Carol Cole, groups: [staff], credentials: [{ card: "1003" }] }
  - { id: dave, name: Dave Dunn, groups: [staff], credentials: [{ card: "1004" }] }
  - { id: maya, name: Maya Host, groups: [staff], credentials: [{ card: "3002" }] }
threatRules:
  musterPoints: [{ reader: car-park-reader, name: Car park }]
  maxOccupancy: [{ area: floor, max: 50 }]
  visitors: { group: visitors, closingTime: "18:00", cardRange: { from: 900000, to: 999999 } }
`;

/** Monday 2 March 2026, 09:00 in London (GMT): the gateway's clock, moved on by the tests. */
const MONDAY_9AM = Date.parse('2026-03-02T09:00:00Z');

let gw: TestGateway;
let browser: Browser;
let observer: TestClient;
let nowMs = MONDAY_9AM;
const devices = new Map<string, TestClient>();
const sessions: ConsoleSession[] = [];

beforeAll(async () => {
  await ensureConsoleBuilt();
  gw = await startTestGateway({ configYaml: 'demo: true', siteYaml: SITE_YAML, clock: () => nowMs });
  await addConsoleUsers(gw);
  observer = await connect(gw.mqttUrl);
  await observer.subscribe('guardpost/events');
  for (const id of ['in-reader', 'out-reader', 'fire-panel', 'car-park-reader']) devices.set(id, await connectDevice(gw.mqttUrl, id));
  browser = await launchBrowser();
}, 240_000);

afterAll(async () => {
  for (const session of sessions) await session.context.close().catch(() => undefined);
  await browser?.close();
  await Promise.all([observer, ...devices.values()].map((client) => client?.end()));
  await gw?.stop();
});

const send = (device: string, payload: Record<string, unknown>): Promise<unknown> => devices.get(device)!.publish(`guardpost/devices/${device}/input`, JSON.stringify(payload));

async function badge(reader: string, card: string): Promise<JournalEvent> {
  const mark = observer.mark();
  await send(reader, { type: 'card', card });
  return observer.nextEvent((event) => (event.type === 'access.granted' || event.type === 'access.denied') && event.device === reader, mark);
}

async function apiAs(token: string, method: string, path: string, body?: unknown): Promise<{ status: number; json: Record<string, unknown> }> {
  const response = await fetch(`${gw.httpUrl}${path}`, {
    method,
    headers: { authorization: `Bearer ${token}`, ...(body === undefined ? {} : { 'content-type': 'application/json' }) },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  const text = await response.text();
  return { status: response.status, json: text === '' ? {} : (JSON.parse(text) as Record<string, unknown>) };
}

/** A signed-in console whose browser clock reads the gateway's (so "today" is the gateway's day). */
async function open(role: keyof typeof CONSOLE_USERS, path: string, options: { width?: number; height?: number } = {}): Promise<Page> {
  const session = await openConsole(browser, gw.httpUrl, { path, ...options });
  sessions.push(session);
  // Counts the tones the console starts (WebAudio oscillators), so a test can hear the alarm sound.
  await session.context.addInitScript(`(() => {
    window.__tones = 0;
    const create = AudioContext.prototype.createOscillator;
    AudioContext.prototype.createOscillator = function () { window.__tones += 1; return create.call(this); };
  })()`);
  await session.page.clock.setFixedTime(new Date(nowMs));
  await session.page.reload();
  await signIn(session.page, CONSOLE_USERS[role].user, CONSOLE_USERS[role].password);
  return session.page;
}

async function close(page: Page): Promise<void> {
  const index = sessions.findIndex((session) => session.page === page);
  if (index >= 0) await sessions.splice(index, 1)[0]!.context.close();
}

const fitsWidth = (page: Page): Promise<boolean> => page.evaluate('document.documentElement.scrollWidth <= window.innerWidth') as Promise<boolean>;

describe('the Occupancy screen', () => {
  it('shows who is inside each area with since when and the last door, and follows badges live', async () => {
    for (const card of ['1001', '1002', '1003']) expect(await badge('in-reader', card)).toMatchObject({ type: 'access.granted' });
    const page = await open('security', '/occupancy');
    try {
      const floor = page.getByRole('table', { name: 'Inside Office floor' });
      await floor.locator('tr[data-cardholder="carol"]').waitFor();
      expect(await page.getByTestId('count-floor').textContent()).toContain('3 of 50');
      // Door names come with the live data, which may land just after the list.
      await expect.poll(() => floor.locator('tr[data-cardholder="alice"]').textContent()).toMatch(/^Alice Archer\d\d:\d\d:\d\d(?: [AP]M)?.*Floor entrance/);

      // Dave badges in and Carol out over MQTT: the screen follows without a reload.
      await badge('in-reader', '1004');
      await floor.locator('tr[data-cardholder="dave"]').getByText('Dave Dunn').waitFor();
      await badge('out-reader', '1003');
      await floor.locator('tr[data-cardholder="carol"]').waitFor({ state: 'detached' });
      await expect.poll(() => page.getByTestId('count-floor').textContent()).toContain('3 of 50');
      expect(await page.getByTestId('occupancy-total').textContent()).toBe('3 people inside');
      await screenshot(page, 'occupancy');
    } finally {
      await close(page);
    }
  });
});

describe('the Evacuation screen', () => {
  it('puts a fire alarm in front of everyone signed in; a marshal on a phone marks a person safe and another console sees it live, as it sees a muster-point badge', async () => {
    const marshal = await open('security', '/live', { width: 390, height: 844 });
    const control = await open('admin', '/doors');
    const viewer = await open('viewer', '/live');

    const mark = observer.mark();
    await send('fire-panel', { type: 'contact', state: 'open' });
    const started = await observer.nextEvent((event) => event.type === 'muster.started', mark);
    const evacuationId = String(started.data.evacuation);

    // Everyone signed in is told, whatever screen they are on.
    for (const page of [marshal, control, viewer]) {
      const takeover = page.getByTestId('evacuation-takeover');
      await takeover.getByRole('heading', { name: 'Evacuation under way' }).waitFor();
      expect(await takeover.getByTestId('takeover-counts').textContent()).toBe('0 of 3 accounted for, 3 missing');
      await takeover.getByText('fire alarm (Fire alarm panel)', { exact: false }).waitFor();
    }
    await screenshot(marshal, 'evacuation-takeover-phone');
    expect(await contrastProblems(marshal), 'contrast of the evacuation takeover').toEqual([]);

    // The viewer learns the counts, never who is missing, and has no command to give.
    await viewer.getByRole('button', { name: 'Open the Evacuation screen' }).click();
    await viewer.getByTestId('muster-counts').getByText('0 of 3 accounted for', { exact: false }).waitFor();
    expect(await viewer.getByText('Alice Archer').count()).toBe(0);

    await marshal.getByRole('button', { name: 'Open the mustering list' }).click();
    await control.getByRole('button', { name: 'Open the mustering list' }).click();
    // The list is by area, named as the site names it.
    await control.getByRole('list', { name: 'People in Office floor' }).waitFor();
    const aliceOnControl = control.locator('li[data-cardholder="alice"]');
    await aliceOnControl.getByText(/^missing$/).waitFor();
    expect(await control.locator('li[data-cardholder]').evaluateAll((rows) => rows.map((row) => row.getAttribute('data-cardholder')))).toEqual(['alice', 'bob', 'dave']);
    await expect.poll(() => aliceOnControl.textContent()).toMatch(/last read \d\d:\d\d:\d\d(?: [AP]M)? at Floor entrance/);

    // One tap on the phone; the other console sees it without touching anything.
    await marshal.getByRole('button', { name: 'Mark Alice Archer safe' }).click();
    await marshal.locator('li[data-cardholder="alice"]').getByText(/^safe .*marked by sam-security$/).waitFor();
    await aliceOnControl.getByText(/^safe \d\d:\d\d:\d\d(?: [AP]M)?, marked by sam-security$/).waitFor();
    expect(await fitsWidth(marshal)).toBe(true);
    await screenshot(marshal, 'evacuation-phone');

    // Bob badges at the car park's muster reader: both consoles show him safe, the viewer's count moves.
    const led = devices.get('car-park-reader')!.mark();
    await send('car-park-reader', { type: 'card', card: '1002' });
    expect((await devices.get('car-park-reader')!.next((message) => message.json.type === 'led', led)).json).toMatchObject({ color: 'green' });
    for (const page of [marshal, control]) await page.locator('li[data-cardholder="bob"]').getByText(/^safe \d\d:\d\d:\d\d(?: [AP]M)?, badged at Car park reader$/).waitFor();
    await viewer.getByTestId('muster-counts').getByText('2 of 3 accounted for', { exact: false }).waitFor();
    await expect.poll(() => control.getByTestId('muster-counts').textContent()).toBe('1 missing 2 of 3 accounted for');

    // Someone signing in while it is under way is told at once, with the counts as they stand.
    const latecomer = await open('viewer', '/history');
    await latecomer.getByTestId('evacuation-takeover').getByTestId('takeover-counts').getByText('2 of 3 accounted for, 1 missing').waitFor();
    await close(latecomer);

    for (const scheme of ['light', 'dark'] as const) {
      await control.emulateMedia({ colorScheme: scheme });
      expect(await contrastProblems(control), `${scheme} contrast of the mustering list`).toEqual([]);
    }
    await control.emulateMedia({ colorScheme: 'light' });

    // "Missing only" leaves the one person still to find.
    await control.getByLabel('Missing only').check();
    await expect.poll(() => control.locator('li[data-cardholder]').count()).toBe(1);
    await control.locator('li[data-cardholder="dave"]').waitFor();

    // The exported list: one row per person, how each was accounted for.
    const [download] = await Promise.all([control.waitForEvent('download'), control.getByRole('button', { name: 'Export the list (CSV)' }).click()]);
    const csv = fs.readFileSync((await download.path())!, 'utf8').trim().split('\r\n');
    expect(csv[0]).toBe('cardholder,name,areas,lastSeenAt,lastSeenDoor,status,safeAt,safeBy,safeVia,safePoint');
    expect(csv.slice(1).map((line) => line.split(',').slice(0, 2).concat(line.split(',')[5]!, line.split(',')[8] ?? ''))).toEqual([
      ['alice', 'Alice Archer', 'safe', 'api'],
      ['bob', 'Bob Baker', 'safe', 'reader'],
      ['dave', 'Dave Dunn', 'missing', ''],
    ]);

    // The viewer's Evacuation screen has no command in it.
    expect(await viewer.getByRole('main').getByRole('button').count()).toBe(0);

    // Ending asks first, then shows the closed list; every console drops the takeover and banner.
    await marshal.getByRole('button', { name: 'End the evacuation' }).click();
    await marshal.getByText('End the evacuation with 1 still missing?').waitFor();
    await marshal.getByRole('button', { name: 'Yes, end it' }).click();
    await marshal.getByRole('heading', { name: /^Ended / }).waitFor();
    await marshal.locator('tr[data-cardholder="dave"]').getByText('missing').waitFor();
    expect(marshal.url()).toContain(`/evacuation/${evacuationId}`);
    await viewer.getByRole('heading', { name: 'No evacuation is under way' }).waitFor();
    await control.getByRole('heading', { name: 'No evacuation is under way' }).waitFor();
    await control.getByTestId('past-evacuations').getByRole('link').first().waitFor();

    await send('fire-panel', { type: 'contact', state: 'closed' });
    await Promise.all([close(marshal), close(control), close(viewer)]);
  });

  it('lets security start an evacuation only after confirming, and shows viewers no start button', async () => {
    await badge('in-reader', '1001');
    const viewer = await open('viewer', '/evacuation');
    const security = await open('security', '/evacuation');
    try {
      await viewer.getByRole('heading', { name: 'No evacuation is under way' }).waitFor();
      expect(await viewer.getByRole('main').getByRole('button').count()).toBe(0);
      // The earlier evacuation is listed by when, without a link to a list the viewer may not read.
      await viewer.getByTestId('past-evacuations').getByText(/3 people on the list · fire alarm/).waitFor();
      expect(await viewer.getByTestId('past-evacuations').getByRole('link').count()).toBe(0);
      // Viewers are offered only what the viewer role may read.
      const nav = viewer.getByRole('navigation', { name: 'Screens' });
      expect(await nav.getByRole('link').allTextContents()).toEqual(['Live', 'Doors', 'Evacuation', 'Schedules', 'History', 'Settings']);
      // Opened by address, the security screens say why they are closed and offer no command.
      for (const path of ['/visitors', '/occupancy', '/response-times']) {
        await viewer.evaluate(`history.pushState(null, '', '${path}'); dispatchEvent(new PopStateEvent('popstate'))`);
        await viewer.getByText('The viewer role may not open this screen; it needs security.').waitFor();
        expect(await viewer.getByRole('main').getByRole('button').count()).toBe(0);
      }
      await nav.getByRole('link', { name: 'Live', exact: true }).click();
      await viewer.getByRole('heading', { name: 'Floor entrance' }).waitFor();

      await security.getByLabel('Reason (optional)').fill('gas smell on floor 2');
      // By keyboard: the confirmation takes the focus to Cancel, so a second Enter starts nothing.
      await security.getByRole('button', { name: 'Start an evacuation' }).focus();
      await security.keyboard.press('Enter');
      await security.getByText('Start an evacuation now?').waitFor();
      await expect.poll(() => security.evaluate('document.activeElement?.textContent')).toBe('Cancel');
      // Nothing has started before the confirmation.
      expect((await apiAs(await gw.login(), 'GET', '/api/v1/evacuations/current')).status).toBe(404);
      await security.getByRole('button', { name: 'Yes, start the evacuation' }).click();
      await security.locator('li[data-cardholder="alice"]').getByText('missing').waitFor();
      // Carol was not seen inside but is found at the assembly point: added to the list, safe.
      await security.getByLabel('Cardholder id of someone found who is not on the list').fill('carol');
      await security.getByRole('button', { name: 'Add as safe' }).click();
      await security.getByRole('list', { name: 'People in (not seen inside)' }).locator('li[data-cardholder="carol"]').getByText(/^safe .*marked by sam-security$/).waitFor();
      // A card id nobody has is refused in the API's words.
      await security.getByLabel('Cardholder id of someone found who is not on the list').fill('zed');
      await security.getByRole('button', { name: 'Add as safe' }).click();
      await security.getByRole('alert').getByText('no cardholder "zed"').waitFor();
      expect(await security.getByRole('main').textContent()).toContain('started by sam-security: gas smell on floor 2');

      const takeover = viewer.getByTestId('evacuation-takeover');
      await takeover.getByText('started by sam-security: gas smell on floor 2').waitFor();
      // Started from a console, no fire sounder announces it: the console sounds its tone.
      const tones = (): Promise<number> => viewer.evaluate('window.__tones') as Promise<number>;
      await expect.poll(tones).toBeGreaterThan(0);
      await takeover.getByRole('button', { name: 'Hide' }).click();
      // Hidden, it goes quiet: no new tone over a whole beep interval (1.5 s).
      const afterHide = await tones();
      await viewer.evaluate('new Promise((resolve) => setTimeout(resolve, 1600))');
      expect(await tones()).toBe(afterHide);
      // Hidden, it stays as a banner until the evacuation ends.
      await viewer.getByTestId('evacuation-banner').waitFor();
      await security.getByRole('button', { name: 'End the evacuation' }).click();
      await security.getByRole('button', { name: 'Yes, end it' }).click();
      await viewer.getByTestId('evacuation-banner').waitFor({ state: 'detached' });
    } finally {
      await close(viewer);
      await close(security);
    }
  });
});

describe('the Visitors screen', () => {
  it('registers a visitor through the form, and shows a watch-listed name blocked with a link to its alarm', async () => {
    const page = await open('security', '/visitors');
    const admin = await gw.login();
    try {
      const form = page.getByRole('form', { name: 'Register a visitor' });
      await form.getByLabel("Visitor's name").fill('Jane Doe');
      await form.getByLabel('Company').fill('Acme');
      await form.getByLabel('Host').fill('maya');
      await form.getByLabel('Expected at').fill('2026-03-02T10:00');
      await form.getByLabel('Photo URL').fill('https://photos.example/jane.jpg');
      // Reception types the number of the visitor card it hands out: the gateway keeps only its digest.
      await form.getByLabel('Visitor card number').fill('7000123');
      await form.getByRole('button', { name: 'Register' }).click();
      await page.getByTestId('registration-result').getByText(/^Jane Doe is registered: card \*+\d+, valid until (18:00:00|06:00:00 PM)\.$/).waitFor();
      const jane = page.locator('li[data-visitor]', { hasText: 'Jane Doe' });
      await jane.getByText('expected', { exact: true }).waitFor();
      expect(await jane.textContent()).toContain('Host maya');

      // Her card opens the visitor door, and the list shows her inside.
      const visitor = (await apiAs(admin, 'GET', '/api/v1/visitors?date=2026-03-02')).json as unknown as { id: string; name: string }[];
      const janeId = visitor.find((entry) => entry.name === 'Jane Doe')!.id;
      expect(await badge('in-reader', '7000123')).toMatchObject({ type: 'access.granted', cardholder: janeId });
      await jane.getByText('inside', { exact: true }).waitFor();

      // Security adds a person to the watch list through the form.
      const watch = page.getByRole('form', { name: 'Add to the watch list' });
      await watch.getByLabel('Name on the watch list').fill('José Álvarez-Núñez');
      await watch.getByLabel('Reason').fill('threatened agents on three calls');
      await watch.getByRole('button', { name: 'Add to the watch list' }).click();
      const entry = page.getByTestId('watch-list').locator('tr', { hasText: 'José Álvarez-Núñez' });
      await entry.getByText(/^sam-security, /).waitFor();

      // The same name in other case, spacing and accents is blocked at registration.
      await form.getByLabel("Visitor's name").fill('jose  ALVAREZ nunez');
      await form.getByLabel('Host').fill('maya');
      await form.getByRole('button', { name: 'Register' }).click();
      const result = page.getByTestId('registration-result');
      await result.getByText(/^jose +ALVAREZ nunez is blocked: the watch list matches\.$/).waitFor();
      expect(await result.textContent()).toContain('on name: threatened agents on three calls (added by sam-security)');
      // The silent watch-list alarm takes over the console; hide it to carry on.
      const alarmPanel = page.getByRole('alertdialog');
      await alarmPanel.getByRole('heading', { name: 'Watchlist alarm at visitor registration' }).waitFor();
      await alarmPanel.getByRole('button', { name: 'Hide' }).click();
      const blocked = page.locator('li.visitor-blocked');
      await blocked.getByText('blocked', { exact: true }).waitFor();
      expect(await blocked.textContent()).toContain('Watch-list match: name: threatened agents on three calls');
      await screenshot(page, 'visitors');
      expect(await contrastProblems(page), 'contrast of a blocked visitor').toEqual([]);
      await blocked.getByRole('button', { name: 'Open the watch-list alarm' }).click();
      await alarmPanel.getByRole('heading', { name: 'Watchlist alarm at visitor registration' }).waitFor();
      await alarmPanel.getByRole('button', { name: 'Hide' }).click();

      // Security reviews the match (a namesake) and lets the visitor in after all.
      await blocked.getByRole('button', { name: 'Review the match of jose ALVAREZ nunez' }).click();
      await blocked.getByLabel('Why the match is not this person').fill('checked the passport: a namesake');
      await blocked.getByRole('button', { name: 'Let them in' }).click();
      const approved = page.locator('li[data-visitor]', { hasText: 'Approved after a match by sam-security' });
      await approved.getByText('expected', { exact: true }).waitFor();

      // Jane checks out: her card is withdrawn and she is listed as left.
      await jane.getByRole('button', { name: 'Check out Jane Doe' }).click();
      await jane.getByText('left', { exact: true }).waitFor();
      expect((await apiAs(admin, 'GET', `/api/v1/cardholders/${janeId}`)).status).toBe(404);

      // A visit on a day already closed is refused, in the API's words, under the field it names.
      await form.getByLabel("Visitor's name").fill('Late Larry');
      await form.getByLabel('Host').fill('maya');
      await form.getByLabel('Expected at').fill('2026-03-01T10:00');
      await form.getByRole('button', { name: 'Register' }).click();
      const expected = form.getByLabel('Expected at');
      await expect.poll(() => expected.getAttribute('aria-invalid')).toBe('true');
      expect(await page.locator(`[id="${(await expected.getAttribute('aria-describedby'))!}"]`).textContent()).toContain('the site closes at 18:00 (Europe/London) on 2026-03-01, which has passed');

      // Removing asks once more, then the entry is gone from the gateway.
      await entry.getByRole('button', { name: 'Remove José Álvarez-Núñez from the watch list' }).click();
      await entry.getByRole('button', { name: 'Remove José Álvarez-Núñez' }).click();
      await entry.waitFor({ state: 'detached' });
      expect(((await apiAs(admin, 'GET', '/api/v1/watch-list/people')).json as unknown as unknown[]).length).toBe(0);
    } finally {
      await close(page);
      const alarms = (await apiAs(admin, 'GET', '/api/v1/alarms')).json as unknown as { id: string }[];
      for (const alarm of alarms) {
        await apiAs(admin, 'POST', `/api/v1/alarms/${alarm.id}/acknowledge`, { note: 'reviewed' });
        await apiAs(admin, 'POST', `/api/v1/alarms/${alarm.id}/clear`, { resolution: 'namesake' });
      }
    }
  });
});

describe('the Response times screen', () => {
  it('shows the median and p90 of a scripted alarm sequence, drills apart, who acknowledged, and exports the CSV', async () => {
    // Wednesday: a day of its own, apart from the alarms of the tests above.
    nowMs = Date.parse('2026-03-04T14:50:00Z');
    const admin = await gw.login();
    const sam = await gw.login(CONSOLE_USERS.security.user, CONSOLE_USERS.security.password);
    async function alarm(acknowledgeAfterS: number, clearAfterS: number, by: string): Promise<void> {
      const raised = await apiAs(admin, 'POST', '/api/v1/alarms', { location: 'desk 12' });
      expect(raised.status).toBe(201);
      const startMs = nowMs;
      nowMs = startMs + acknowledgeAfterS * 1000;
      expect((await apiAs(by, 'POST', `/api/v1/alarms/${String(raised.json.id)}/acknowledge`, { note: 'on my way' })).status).toBe(200);
      nowMs = startMs + clearAfterS * 1000;
      expect((await apiAs(by, 'POST', `/api/v1/alarms/${String(raised.json.id)}/clear`, { resolution: 'handled' })).status).toBe(200);
      // The next one 50 minutes on: within a session's idle hour, in the next hour of the day.
      nowMs = startMs + 50 * 60_000;
    }
    await alarm(30, 150, admin);
    await alarm(90, 390, sam);
    expect((await apiAs(sam, 'POST', '/api/v1/drills', { durationMs: 1_800_000 })).status).toBe(201);
    await alarm(10, 20, sam);
    // The drill ran out on its own, 30 minutes on: the next alarms are real again.
    expect((await apiAs(sam, 'GET', '/api/v1/drills/current')).json).toMatchObject({ running: false });

    const page = await open('security', '/response-times');
    try {
      await page.getByLabel('From (day)').fill('2026-03-04');
      await page.getByLabel('To (day)').fill('2026-03-04');
      await page.getByRole('button', { name: 'Show' }).click();
      await page.getByRole('heading', { name: 'Real alarms (2)' }).waitFor();
      // Acknowledged after 30 s and 90 s, cleared after 150 s and 390 s (PERCENTILE.INC).
      expect(await page.getByTestId('real-ack-median').textContent()).toBe('1 min');
      expect(await page.getByTestId('real-ack-p90').textContent()).toBe('1 min 24 s');
      expect(await page.getByTestId('real-clear-median').textContent()).toBe('4 min 30 s');
      expect(await page.getByTestId('real-clear-p90').textContent()).toBe('6 min 6 s');
      await page.getByRole('heading', { name: 'Drills (1)' }).waitFor();
      expect(await page.getByTestId('drills-ack-median').textContent()).toBe('10 s');
      const real = page.locator('#kpi-real');
      expect(await real.locator('tr[data-who="admin"]').textContent()).toBe('admin130 s30 s');
      expect(await real.locator('tr[data-who="sam-security"]').textContent()).toBe('sam-security11 min 30 s1 min 30 s');
      expect(await real.getByRole('table').filter({ hasText: 'By type' }).locator('tr[data-key="panic"]').textContent()).toBe('panic21 min1 min 24 s4 min 30 s6 min 6 s');
      // Raised at 14:50 and 15:40 London time (GMT in March).
      expect(await real.getByRole('table').filter({ hasText: 'By hour of day' }).locator('tbody tr').allTextContents()).toEqual(['14:00130 s30 s2 min 30 s2 min 30 s', '15:0011 min 30 s1 min 30 s6 min 30 s6 min 30 s']);
      expect(await real.getByRole('table').filter({ hasText: 'By week' }).locator('tbody tr').first().textContent()).toMatch(/^2026-W102/);
      // Each alarm, with who acknowledged and cleared it and its incident report.
      await real.getByText('Each alarm (2)').click();
      const rows = real.locator('tr[data-alarm]');
      expect(await rows.evaluateAll((all) => all.map((row) => [...row.querySelectorAll('td')].slice(3, 5).map((cell) => cell.textContent)))).toEqual([
        ['after 30 s by admin', 'after 2 min 30 s by admin'],
        ['after 1 min 30 s by sam-security', 'after 6 min 30 s by sam-security'],
      ]);
      await rows.first().getByRole('link', { name: 'Incident report' }).waitFor();
      await screenshot(page, 'response-times');

      const [download] = await Promise.all([page.waitForEvent('download'), page.getByRole('button', { name: 'Export CSV' }).click()]);
      const lines = fs.readFileSync((await download.path())!, 'utf8').trim().split('\r\n');
      expect(lines[0]).toBe('alarm,kind,drill,door,zone,device,raisedAt,acknowledgedAt,acknowledgedBy,acknowledgeSeconds,clearedAt,clearedBy,clearSeconds,escalations,hour,period');
      expect(lines.slice(1).map((line) => line.split(',')[2])).toEqual(['false', 'false', 'true']);
    } finally {
      await close(page);
    }
  });
});

describe('the threat-management screens', () => {
  it('are reached from the navigation with the keyboard, meet AA contrast, and fit a phone', async () => {
    const page = await open('admin', '/live', { width: 390, height: 844 });
    try {
      for (const [screen, ready] of [
        ['Occupancy', 'Office floor'],
        ['Evacuation', 'No evacuation is under way'],
        ['Visitors', 'Register a visitor'],
        ['Response times', 'Range'],
      ] as const) {
        const link = page.getByRole('navigation', { name: 'Screens' }).getByRole('link', { name: screen, exact: true });
        await link.focus();
        await page.keyboard.press('Enter');
        await page.getByRole('heading', { name: ready }).waitFor();
        expect(await contrastProblems(page), `contrast on ${screen}`).toEqual([]);
        expect(await fitsWidth(page), `${screen} fits 390 px`).toBe(true);
        // The dark scheme too (a control room at night).
        await page.emulateMedia({ colorScheme: 'dark' });
        expect(await contrastProblems(page), `dark contrast on ${screen}`).toEqual([]);
        await page.emulateMedia({ colorScheme: 'light' });
      }
    } finally {
      await close(page);
    }
  });
});
