import { describe, expect, it } from 'vitest';
import { SseParser } from '../../console/src/sse.js';

describe("the console's Server-Sent Events parser", () => {
  it('reads the gateway stream frame by frame, keeping id and event, skipping keep-alive comments', () => {
    const parser = new SseParser();
    const frames = parser.push('retry: 2000\n\nid: 7\nevent: access.granted\ndata: {"seq":7}\n\n: keep-alive\n\n');
    expect(frames).toEqual([
      { id: null, event: null, data: '', retryMs: 2000 },
      { id: '7', event: 'access.granted', data: '{"seq":7}', retryMs: null },
    ]);
  });

  it('joins a frame split across chunks at any byte, CRLF included', () => {
    const text = 'id: 8\r\nevent: door.closed\r\ndata: {"a":\r\ndata: 1}\r\n\r\nid: 9\ndata: x\n\n';
    for (let cut = 1; cut < text.length; cut += 1) {
      const parser = new SseParser();
      const frames = [...parser.push(text.slice(0, cut)), ...parser.push(text.slice(cut))];
      expect(frames.map((frame) => [frame.id, frame.data])).toEqual([
        ['8', '{"a":\n1}'],
        ['9', 'x'],
      ]);
    }
  });

  it('keeps the last id for frames that carry none, as the reconnect header needs', () => {
    const parser = new SseParser();
    const frames = parser.push('id: 41\ndata: a\n\ndata: b\n\n');
    expect(frames.map((frame) => frame.id)).toEqual(['41', '41']);
  });
});
