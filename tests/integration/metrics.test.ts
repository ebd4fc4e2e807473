import { afterEach, describe, expect, it } from 'vitest';
import { connect, connectDevice, startTestGateway, type TestClient, type TestGateway } from '../support/gateway.js';

describe('/metrics for the operator', () => {
  let gw: TestGateway | undefined;
  const clients: TestClient[] = [];
  afterEach(async () => {
    await Promise.all(clients.splice(0).map((client) => client.end()));
    await gw?.stop();
    gw = undefined;
  });

  it('shows decisions by result and reason, decision and badge-to-strike latency, events by type, devices, forwarder lag, broker clients, bad input and the journal\'s size', async () => {
    gw = await startTestGateway({ configYaml: ['demo: true', 'forwarders:', '  - id: incidents', '    kind: webhook', '    url: http://127.0.0.1:9/hook', '    secret: whsec_bWV0cmljcw==', '    initialBackoffMs: 60000', '    maxBackoffMs: 60000'].join('\n') });
    const reader = await connectDevice(gw.mqttUrl, 'main-entrance-reader');
    const strike = await connectDevice(gw.mqttUrl, 'main-entrance-strike');
    const observer = await connect(gw.mqttUrl);
    clients.push(reader, strike, observer);
    await observer.subscribe('guardpost/events');
    let mark = observer.mark();
    await reader.publish('guardpost/devices/main-entrance-reader/availability', 'online');
    await observer.nextEvent((event) => event.type === 'device.online', mark);
    mark = observer.mark();
    await reader.publish('guardpost/devices/main-entrance-reader/input', JSON.stringify({ type: 'card', card: '1001' }));
    await strike.next((message) => message.json.type === 'strike');
    await observer.nextEvent((event) => event.type === 'access.granted', mark);
    mark = observer.mark();
    await reader.publish('guardpost/devices/main-entrance-reader/input', JSON.stringify({ type: 'card', card: '1004' }));
    await observer.nextEvent((event) => event.type === 'access.denied', mark);
    mark = observer.mark();
    await reader.publish('guardpost/devices/main-entrance-reader/input', 'not json');
    await observer.nextEvent((event) => event.type === 'device.bad_input', mark);

    const response = await fetch(`${gw.httpUrl}/metrics`, { headers: await gw.adminHeaders() });
    expect(response.status).toBe(200);
    const text = await response.text();
    const value = (series: string): number => Number(new RegExp(`^${series.replace(/[{}"+.]/g, (c) => `\\${c}`)} (\\S+)$`, 'm').exec(text)?.[1] ?? Number.NaN);
    expect(value('guardpost_access_decisions_total{result="granted",reason="granted"}')).toBe(1);
    expect(value('guardpost_access_decisions_total{result="denied",reason="credential_suspended"}')).toBe(1);
    expect(text).toContain('# TYPE guardpost_access_decision_seconds histogram');
    expect(value('guardpost_access_decision_seconds_count')).toBe(2);
    expect(value('guardpost_badge_to_strike_seconds_count')).toBe(1);
    expect(value('guardpost_badge_to_strike_seconds_bucket{le="+Inf"}')).toBe(1);
    expect(value('guardpost_events_total{type="access.granted"}')).toBe(1);
    expect(value('guardpost_devices{state="online"}')).toBe(1);
    expect(value('guardpost_devices{state="unknown"}')).toBe(8);
    expect(value('guardpost_forwarder_lag_events{destination="incidents"}')).toBeGreaterThanOrEqual(3);
    expect(value('guardpost_mqtt_clients')).toBe(3);
    expect(value('guardpost_bad_input_total{device="main-entrance-reader",code="not_json"}')).toBe(1);
    expect(value('guardpost_journal_last_seq')).toBeGreaterThanOrEqual(3);
    expect(value('guardpost_database_bytes')).toBeGreaterThan(0);
  });
});
