// Pure: no DOM, so the Node tests can check it too.

/** One parsed Server-Sent Events frame. */
export interface SseFrame {
  readonly id: string | null;
  readonly event: string | null;
  readonly data: string;
  readonly retryMs: number | null;
}

/**
 * Splits an SSE byte stream into frames (WHATWG "event stream interpretation"): lines end with
 * LF, CRLF or CR, a blank line ends a frame, `:` lines are comments (the server's keep-alive).
 * Feed it text as it arrives; it keeps any unfinished line for the next call.
 */
export class SseParser {
  private buffer = '';
  private data: string[] = [];
  private id: string | null = null;
  private event: string | null = null;
  private retryMs: number | null = null;

  push(text: string): SseFrame[] {
    this.buffer += text;
    const frames: SseFrame[] = [];
    let match: RegExpExecArray | null;
    const lineEnd = /\r\n|\r|\n/g;
    let start = 0;
    while ((match = lineEnd.exec(this.buffer)) !== null) {
      // A lone CR at the very end may be the first half of CRLF: wait for more.
      if (match[0] === '\r' && match.index === this.buffer.length - 1) break;
      const line = this.buffer.slice(start, match.index);
      start = match.index + match[0].length;
      const frame = this.line(line);
      if (frame !== null) frames.push(frame);
    }
    this.buffer = this.buffer.slice(start);
    return frames;
  }

  private line(line: string): SseFrame | null {
    if (line === '') {
      if (this.data.length === 0 && this.retryMs === null) {
        this.event = null;
        return null;
      }
      const frame = { id: this.id, event: this.event, data: this.data.join('\n'), retryMs: this.retryMs };
      this.data = [];
      this.event = null;
      this.retryMs = null;
      return frame;
    }
    if (line.startsWith(':')) return null;
    const colon = line.indexOf(':');
    const field = colon === -1 ? line : line.slice(0, colon);
    let value = colon === -1 ? '' : line.slice(colon + 1);
    if (value.startsWith(' ')) value = value.slice(1);
    switch (field) {
      case 'data':
        this.data.push(value);
        break;
      case 'id':
        if (!value.includes('\0')) this.id = value;
        break;
      case 'event':
        this.event = value;
        break;
      case 'retry':
        if (/^\d+$/.test(value)) this.retryMs = Number(value);
        break;
      default:
        break;
    }
    return null;
  }
}
