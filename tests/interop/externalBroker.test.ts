import { afterEach, describe, expect, it } from 'vitest';
import { connect, startTestGateway, type TestClient, type TestGateway } from '../support/gateway.js';
import { startMosquitto, type Mosquitto } from '../support/mosquitto.js';

describe('guardpost as a client of an external Mosquitto broker', () => {
  let broker: Mosquitto | undefined;
  let gw: TestGateway | undefined;
  const clients: TestClient[] = [];

  afterEach(async () => {
    await Promise.all(clients.splice(0).map((client) => client.end()));
    await gw?.stop();
    await broker?.stop();
    gw = undefined;
    broker = undefined;
  });

  async function device(url: string, id: string): Promise<TestClient> {
    const client = await connect(url, { clientId: `test-${id}` });
    await client.subscribe(`guardpost/devices/${id}/output`);
    clients.push(client);
    return client;
  }

  it('opens a door for a card read that arrives through Mosquitto, on the same topics', async () => {
    broker = await startMosquitto();
    gw = await startTestGateway({ configYaml: `demo: true\nmqtt:\n  mode: external\n  url: ${broker.url}\n` });
    const observer = await connect(broker.url);
    clients.push(observer);
    await observer.subscribe('guardpost/events');
    await observer.subscribe('guardpost/bridge/state');
    const reader = await device(broker.url, 'main-entrance-reader');
    const strike = await device(broker.url, 'main-entrance-strike');

    const state = await observer.next((message) => message.topic === 'guardpost/bridge/state');
    expect(state.json).toEqual({ state: 'online' });

    await reader.publish('guardpost/devices/main-entrance-reader/input', JSON.stringify({ type: 'card', card: '1001' }));
    expect((await strike.next((message) => message.json.type === 'strike')).json).toEqual({ type: 'strike', action: 'pulse', durationMs: 5000 });
    expect((await reader.next((message) => message.json.type === 'led')).json).toMatchObject({ color: 'green' });
    expect(await observer.nextEvent((event) => event.type === 'access.granted')).toMatchObject({ door: 'main-entrance', cardholder: 'alice-adams' });

    const ready = (await (await fetch(`${gw.httpUrl}/readyz`)).json()) as { checks: { name: string; ready: boolean; detail: string }[] };
    expect(ready.checks[0]).toEqual({ name: 'mqtt', ready: true, detail: 'external' });
  });

  it('reconnects after the broker restarts and goes on deciding', async () => {
    broker = await startMosquitto();
    const port = broker.port;
    gw = await startTestGateway({ configYaml: `mqtt:\n  mode: external\n  url: ${broker.url}\n` });
    await broker.stop();

    broker = await startMosquitto(port);
    const strike = await device(broker.url, 'main-entrance-strike');
    const reader = await device(broker.url, 'main-entrance-reader');
    const observer = await connect(broker.url);
    clients.push(observer);
    // The gateway announces itself again once it has reconnected and resubscribed.
    await observer.subscribe('guardpost/bridge/state');
    await observer.next((message) => message.topic === 'guardpost/bridge/state' && message.json.state === 'online', 0, 15_000);
    await reader.publish('guardpost/devices/main-entrance-reader/input', JSON.stringify({ type: 'card', card: '1002' }));
    expect((await strike.next((message) => message.json.type === 'strike')).json).toMatchObject({ action: 'pulse' });
  });
});
