import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { connect, connectDevice, startTestGateway, type TestClient, type TestGateway } from '../support/gateway.js';

const READER_INPUT = 'guardpost/devices/main-entrance-reader/input';

describe('malformed device payloads', () => {
  let gw: TestGateway;
  let observer: TestClient;
  let reader: TestClient;
  let strike: TestClient;

  beforeAll(async () => {
    gw = await startTestGateway();
    observer = await connect(gw.mqttUrl);
    await observer.subscribe('guardpost/events');
    reader = await connectDevice(gw.mqttUrl, 'main-entrance-reader');
    strike = await connectDevice(gw.mqttUrl, 'main-entrance-strike');
  });

  afterAll(async () => {
    await Promise.all([observer, reader, strike].map((client) => client?.end()));
    await gw?.stop();
  });

  it.each([
    ['text that is not JSON', 'hello door', 'not_json'],
    ['a JSON array', '[1,2,3]', 'not_object'],
    ['an unknown signal type', '{"type":"teleport"}', 'unknown_type'],
    ['a card read without a card', '{"type":"card"}', 'bad_field'],
    ['a card number with letters beyond hex', '{"type":"card","card":"12xy34"}', 'bad_field'],
    ['10 kB of junk', 'x'.repeat(10 * 1024), 'too_large'],
    ['bytes that are not UTF-8', Buffer.from([0xff, 0xfe, 0x00, 0x7b]), 'not_utf8'],
  ])('drops %s with a device.bad_input event and a counter, and keeps running', async (_what, payload, code) => {
    const before = gw.gateway.metrics.get('guardpost_bad_input_total', { device: 'main-entrance-reader', code });
    const after = observer.mark();
    await reader.publish(READER_INPUT, payload);
    const event = await observer.nextEvent((candidate) => candidate.type === 'device.bad_input', after);
    expect(event).toMatchObject({ device: 'main-entrance-reader', reason: code });
    expect(typeof event.data.message).toBe('string');
    expect(gw.gateway.metrics.get('guardpost_bad_input_total', { device: 'main-entrance-reader', code })).toBe(before + 1);
    expect(gw.logs.some((line) => line.includes('dropped bad input') && line.includes(code))).toBe(true);

    // Still deciding, with the same connection.
    const strikeMark = strike.mark();
    await reader.publish(READER_INPUT, JSON.stringify({ type: 'card', card: '1001' }));
    await strike.next((message) => message.json.type === 'strike', strikeMark);
  });

  it('counts bad input on the metrics endpoint', async () => {
    const response = await fetch(`${gw.httpUrl}/metrics`);
    const text = await response.text();
    expect(text).toMatch(/guardpost_bad_input_total\{device="main-entrance-reader",code="not_json"\} 1/);
  });
});
