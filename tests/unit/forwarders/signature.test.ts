import { describe, expect, it } from 'vitest';
import { sign, verify } from '../../../src/forwarders/signature.js';

describe('Standard Webhooks signature', () => {
  // The reference vector published with the Standard Webhooks specification.
  const secret = 'whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw';
  const id = 'msg_p5jXN8AQM9LWM0D4loKWxJek';
  const timestamp = 1614265330;
  const body = '{"test": 2432232314}';

  it('matches the specification reference signature', () => {
    expect(sign(secret, id, timestamp, body)).toBe('v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE=');
  });

  it('verifies against any of several signatures, as during a secret rotation', () => {
    expect(verify(secret, id, timestamp, body, `v1,bm9wZQ== ${sign(secret, id, timestamp, body)}`)).toBe(true);
  });

  it('fails for a changed body, id, timestamp or secret', () => {
    const header = sign(secret, id, timestamp, body);
    expect(verify(secret, id, timestamp, `${body} `, header)).toBe(false);
    expect(verify(secret, 'msg_other', timestamp, body, header)).toBe(false);
    expect(verify(secret, id, timestamp + 1, body, header)).toBe(false);
    expect(verify('whsec_b3RoZXI=', id, timestamp, body, header)).toBe(false);
  });

  it('uses a secret without the whsec_ prefix as plain text key material', () => {
    expect(sign('plain-secret', id, timestamp, body)).not.toBe(sign(secret, id, timestamp, body));
    expect(verify('plain-secret', id, timestamp, body, sign('plain-secret', id, timestamp, body))).toBe(true);
  });
});
