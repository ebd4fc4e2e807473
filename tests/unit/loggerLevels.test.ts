import { Writable } from 'node:stream';
import { describe, expect, it } from 'vitest';
import { createLogger, prettyLine } from '../../src/logger.js';

function capture(): { lines: Record<string, unknown>[]; stream: Writable } {
  const lines: Record<string, unknown>[] = [];
  const stream = new Writable({
    write(chunk: Buffer, _encoding, done) {
      lines.push(JSON.parse(chunk.toString('utf8')) as Record<string, unknown>);
      done();
    },
  });
  return { lines, stream };
}

describe('logger levels per module', () => {
  it('lets one module log more and another less than the rest', () => {
    const { lines, stream } = capture();
    const logger = createLogger('info', stream, { modules: { broker: 'debug', api: 'warn' } });
    logger.child({ module: 'broker' }).debug('broker detail');
    logger.child({ module: 'api' }).info('api chatter');
    logger.child({ module: 'api' }).warn('api problem');
    logger.child({ module: 'site' }).debug('site detail');
    logger.child({ module: 'site' }).info('site news');
    expect(lines.map((line) => line.msg)).toEqual(['broker detail', 'api problem', 'site news']);
  });
});

describe('pretty log lines for a terminal', () => {
  it('shows the time, level, module, message and fields, with secrets still redacted', () => {
    const { lines, stream } = capture();
    createLogger('info', stream).child({ module: 'broker' }).warn({ clientId: 'door-7', password: 'hunter2' }, 'MQTT request refused');
    const text = prettyLine(JSON.stringify(lines[0]));
    expect(text).toMatch(/^\d\d:\d\d:\d\d\.\d{3} WARN  \[broker\] MQTT request refused  clientId=door-7 password=\[redacted\]\n$/);
  });
});
