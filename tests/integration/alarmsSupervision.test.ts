import fs from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import YAML from 'yaml';
import { connect, connectDevice, demoSiteFile, startTestGateway, type TestClient, type TestGateway } from '../support/gateway.js';

/** The demo site with the main entrance reader supervised every second. */
function supervisedReaderSite(): string {
  const site = YAML.parse(fs.readFileSync(demoSiteFile, 'utf8')) as { devices: Record<string, unknown>[] };
  site.devices.find((device) => device.id === 'main-entrance-reader')!.supervisionMs = 1_000;
  return YAML.stringify(site);
}

describe('supervision of a card reader [SAFE-SUPERVISION]', () => {
  let gw: TestGateway;
  let observer: TestClient;
  let reader: TestClient;

  beforeAll(async () => {
    gw = await startTestGateway({ configYaml: 'demo: true', siteYaml: supervisedReaderSite() });
    observer = await connect(gw.mqttUrl);
    await observer.subscribe('guardpost/events');
    reader = await connectDevice(gw.mqttUrl, 'main-entrance-reader');
  });

  afterAll(async () => {
    await Promise.all([observer, reader].map((client) => client?.end()));
    await gw?.stop();
  });

  it('raises device.trouble when a reader that said "offline" stays unheard for supervisionMs, and a card read clears it and is still decided', async () => {
    await reader.publish('guardpost/devices/main-entrance-reader/availability', 'online');
    const mark = observer.mark();
    // An "offline" (the reader's will) is not hearing from it.
    await reader.publish('guardpost/devices/main-entrance-reader/availability', 'offline');
    const trouble = await observer.nextEvent((event) => event.type === 'device.trouble' && event.device === 'main-entrance-reader', mark);
    expect(trouble).toMatchObject({ severity: 'high', reason: 'supervision', data: { cause: 'silent', supervisionMs: 1_000 } });
    const back = observer.mark();
    await reader.publish('guardpost/devices/main-entrance-reader/input', JSON.stringify({ type: 'card', card: '1001' }));
    expect(await observer.nextEvent((event) => event.type === 'device.trouble_cleared', back)).toMatchObject({ device: 'main-entrance-reader', reason: 'supervision' });
    expect(await observer.nextEvent((event) => event.type === 'access.granted', back)).toMatchObject({ door: 'main-entrance', cardholder: 'alice-adams' });
  });
});
