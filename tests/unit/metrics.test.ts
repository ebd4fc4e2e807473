import { describe, expect, it } from 'vitest';
import { Metrics } from '../../src/metrics.js';

describe('Metrics counters', () => {
  it('reads zero for a counter nobody has touched', () => {
    const metrics = new Metrics();
    expect(metrics.get('guardpost_access_decisions_total')).toBe(0);
    metrics.define('guardpost_access_decisions_total', 'Access decisions');
    expect(metrics.get('guardpost_access_decisions_total')).toBe(0);
    expect(metrics.get('guardpost_access_decisions_total', { result: 'granted' })).toBe(0);
  });

  it('counts each increment, by one unless told otherwise', () => {
    const metrics = new Metrics();
    metrics.increment('guardpost_access_errors_total');
    metrics.increment('guardpost_access_errors_total');
    metrics.increment('guardpost_access_errors_total', {}, 5);
    expect(metrics.get('guardpost_access_errors_total')).toBe(7);
  });

  it('keeps a separate count per label set and sums them when no labels are given', () => {
    const metrics = new Metrics();
    metrics.increment('guardpost_access_decisions_total', { result: 'granted', reason: 'granted' });
    metrics.increment('guardpost_access_decisions_total', { result: 'granted', reason: 'granted' });
    metrics.increment('guardpost_access_decisions_total', { result: 'denied', reason: 'credential_expired' });
    expect(metrics.get('guardpost_access_decisions_total', { result: 'granted', reason: 'granted' })).toBe(2);
    expect(metrics.get('guardpost_access_decisions_total', { result: 'denied', reason: 'credential_expired' })).toBe(1);
    expect(metrics.get('guardpost_access_decisions_total', { result: 'denied', reason: 'not_in_group' })).toBe(0);
    expect(metrics.get('guardpost_access_decisions_total')).toBe(3);
  });

  it('keeps the help text of a counter defined before its first increment', () => {
    const metrics = new Metrics();
    metrics.define('guardpost_bad_input_total', 'Device payloads dropped as malformed');
    metrics.increment('guardpost_bad_input_total', { device: 'reader-1', code: 'not_json' });
    metrics.define('guardpost_bad_input_total', 'a second definition does not replace the first');
    expect(metrics.render()).toContain('# HELP guardpost_bad_input_total Device payloads dropped as malformed\n');
    expect(metrics.get('guardpost_bad_input_total')).toBe(1);
  });
});

describe('Metrics.render (Prometheus text format)', () => {
  it('lists a defined counter at zero before anything happens', () => {
    const metrics = new Metrics();
    metrics.define('guardpost_access_errors_total', 'Exceptions on the critical path');
    expect(metrics.render()).toBe(
      '# HELP guardpost_access_errors_total Exceptions on the critical path\n' +
        '# TYPE guardpost_access_errors_total counter\n' +
        'guardpost_access_errors_total 0\n',
    );
  });

  it('renders one line per label set, with labels in braces', () => {
    const metrics = new Metrics();
    metrics.define('guardpost_access_decisions_total', 'Access decisions by result and reason');
    metrics.increment('guardpost_access_decisions_total', { result: 'granted', reason: 'granted' }, 3);
    metrics.increment('guardpost_access_decisions_total', { result: 'denied', reason: 'not_in_group' });
    expect(metrics.render()).toBe(
      [
        '# HELP guardpost_access_decisions_total Access decisions by result and reason',
        '# TYPE guardpost_access_decisions_total counter',
        'guardpost_access_decisions_total{result="granted",reason="granted"} 3',
        'guardpost_access_decisions_total{result="denied",reason="not_in_group"} 1',
        '',
      ].join('\n'),
    );
  });

  it('renders every counter in the order it was first defined or used', () => {
    const metrics = new Metrics();
    metrics.define('b_total', 'B');
    metrics.increment('a_total');
    const names = metrics
      .render()
      .split('\n')
      .filter((line) => line.startsWith('# TYPE'))
      .map((line) => line.split(' ')[2]);
    expect(names).toEqual(['b_total', 'a_total']);
  });

  it('uses the counter name as help for a counter never defined', () => {
    const metrics = new Metrics();
    metrics.increment('guardpost_surprise_total');
    expect(metrics.render()).toContain('# HELP guardpost_surprise_total guardpost_surprise_total\n');
    expect(metrics.render()).toContain('\nguardpost_surprise_total 1\n');
  });

  it('escapes backslashes, double quotes and newlines in label values', () => {
    const metrics = new Metrics();
    metrics.increment('guardpost_bad_input_total', { device: 'C:\\reader "lobby"\nsecond line' });
    expect(metrics.render()).toContain('guardpost_bad_input_total{device="C:\\\\reader \\"lobby\\"\\nsecond line"} 1\n');
  });

  it('keeps every sample on one line whatever a label value contains', () => {
    const metrics = new Metrics();
    metrics.increment('guardpost_bad_input_total', { device: 'a\nb\nc', code: '"}\n# fake 1' });
    const lines = metrics.render().trimEnd().split('\n');
    expect(lines).toHaveLength(3);
    expect(lines.filter((line) => !line.startsWith('#'))).toHaveLength(1);
  });

  it('ends with a newline, as Prometheus requires', () => {
    const metrics = new Metrics();
    expect(metrics.render()).toBe('\n');
    metrics.increment('x_total');
    expect(metrics.render().endsWith('1\n')).toBe(true);
  });
});
