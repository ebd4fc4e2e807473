import { describe, expect, it } from 'vitest';
import { connect, connectDevice, startTestGateway, tempDir } from '../support/gateway.js';

describe('restarting the gateway', () => {
  it('keeps the journal and continues its sequence numbers', async () => {
    const stateDir = tempDir();
    const first = await startTestGateway({ stateDir });
    const observer = await connect(first.mqttUrl);
    await observer.subscribe('guardpost/events');
    const reader = await connectDevice(first.mqttUrl, 'main-entrance-reader');
    await reader.publish('guardpost/devices/main-entrance-reader/input', JSON.stringify({ type: 'card', card: '1001' }));
    const granted = await observer.nextEvent((event) => event.type === 'access.granted');
    await Promise.all([observer.end(), reader.end()]);
    await first.stop();

    const second = await startTestGateway({ stateDir });
    try {
      const events = second.gateway.journal.query({ afterSeq: 0, limit: 100 });
      expect(events.find((event) => event.id === granted.id)).toMatchObject({ type: 'access.granted', seq: granted.seq, door: 'main-entrance' });
      expect(events.map((event) => event.type)).toEqual(['system.started', 'access.granted', 'system.stopped', 'system.started']);
      const seqs = events.map((event) => event.seq);
      expect(seqs).toEqual([...seqs].sort((a, b) => a - b));
    } finally {
      await second.stop();
    }
  });
});
