import assert from 'node:assert/strict';
import fc from 'fast-check';
import { backoffMs, DEFAULT_RETRY } from '../../../providers/aws/retry.ts';
import { clientToken, GenerationBook, parseClientToken, tokenKey } from '../../../providers/aws/tokens.ts';
import { idempotencyKey } from '../../../src/contract/naming.ts';

describe('AWS ClientToken scheme (unit)', () => {
  const key = idempotencyKey('acme', 'web', 'a1b2c3d4e5f6', 2);

  it('token = key-generation, at most 64 ASCII characters, round-trips', () => {
    const token = clientToken(key, 12);
    assert.equal(token, `${key}-12`);
    assert.ok(token.length <= 64);
    assert.deepEqual(parseClientToken(token), { key, generation: 12 });
    assert.equal(parseClientToken('3f2a-uuid-from-the-console'), undefined);
    assert.equal(parseClientToken(undefined), undefined);
  });

  it('hashes keys that are not 32 hex so the token still fits', () => {
    const long = 'x'.repeat(100);
    assert.match(tokenKey(long), /^[0-9a-f]{32}$/);
    assert.ok(clientToken(long, 999_999).length <= 64);
  });

  it('the book starts at the highest generation seen, past it when dead, and never goes down', () => {
    const book = new GenerationBook();
    assert.equal(book.start(key), 0);
    book.observe(clientToken(key, 2), false);
    assert.equal(book.start(key), 2);
    book.observe(clientToken(key, 2), true);
    assert.equal(book.start(key), 3);
    book.observe(clientToken(key, 0), false);
    assert.equal(book.start(key), 3);
    book.observe('someone-elses-token', true);
    assert.equal(book.start(idempotencyKey('acme', 'web', 'a1b2c3d4e5f6', 3)), 0);
  });

  it('property: any observation order gives max(alive g, dead g + 1)', () => {
    fc.assert(
      fc.property(fc.array(fc.record({ g: fc.nat(50), dead: fc.boolean() }), { maxLength: 20 }), (seen) => {
        const book = new GenerationBook();
        for (const s of seen) book.observe(clientToken(key, s.g), s.dead);
        const expected = Math.max(0, ...seen.map((s) => s.g + (s.dead ? 1 : 0)));
        return book.start(key) === expected;
      }),
    );
  });

  it('backoff: bounded, jittered, slower and at least half the ceiling when throttled, honours retry-after', () => {
    const transient = { kind: 'Transient' as const, reason: 'InternalError' };
    const throttled = { kind: 'Throttled' as const, reason: 'RequestLimitExceeded' };
    assert.equal(
      backoffMs(transient, 1, DEFAULT_RETRY, () => 0),
      0,
    );
    assert.equal(
      backoffMs(transient, 3, DEFAULT_RETRY, () => 0.5),
      400,
    );
    assert.equal(
      backoffMs(throttled, 1, DEFAULT_RETRY, () => 0),
      500,
    );
    const capped = backoffMs(throttled, 20, DEFAULT_RETRY, () => 0.999_999);
    assert.ok(capped <= DEFAULT_RETRY.maxDelayMs && capped >= DEFAULT_RETRY.maxDelayMs / 2);
    assert.equal(
      backoffMs({ ...throttled, retryAfterMs: 5000 }, 1, DEFAULT_RETRY, () => 0),
      5000,
    );
  });
});
