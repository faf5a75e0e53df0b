import assert from 'node:assert/strict';
import { GaxiosError } from 'gaxios';
import { GoogleError } from 'google-gax';
import { classifyGce, classifyOperationCode } from '../../../providers/gcp/classify.ts';
import { ProviderError } from '../../../src/contract/errors.ts';
import { generationName, keyLabel, requestIdFor } from '../../../providers/gcp/names.ts';
import { digestLabel, revisionLabel, stateOf, toObserved } from '../../../providers/gcp/labels.ts';

/** GCE error JSON as the API sends it. */
function body(code: number, reason: string, options: { status?: string; info?: string } = {}): Record<string, unknown> {
  return {
    error: {
      code,
      message: 'message text is never matched',
      errors: [{ message: 'm', domain: code === 403 ? 'usageLimits' : 'global', reason }],
      ...(options.status === undefined ? {} : { status: options.status }),
      ...(options.info === undefined
        ? {}
        : {
            details: [
              { '@type': 'type.googleapis.com/google.rpc.ErrorInfo', reason: options.info, domain: 'compute.googleapis.com', metadata: {} },
            ],
          }),
    },
  };
}

/** The 7.x shape: what google-gax's REST fallback throws for an HTTP error body. */
function v7(code: number, reason: string, options: { status?: string; info?: string } = {}): GoogleError {
  const error = GoogleError.parseHttpError(body(code, reason, options));
  Object.assign(error, { httpStatusCode: code });
  return error;
}

/**
 * What google-gax's REST transport (fallbackRest decodeResponse) throws for an error body: the
 * parsed GoogleError, the received status, and the raw body kept under a global symbol.
 */
function rest(code: number, reason: string, options: { status?: string; info?: string } = {}): GoogleError {
  const raw = JSON.stringify(body(code, reason, options));
  const error = GoogleError.parseHttpError(JSON.parse(raw));
  Object.assign(error, { httpStatusCode: code });
  Object.defineProperty(error, Symbol.for('google-gax.rawHttpResponsePayload'), { value: raw, enumerable: false });
  return error;
}

/** The 6.x shape: a GaxiosError with the HTTP status as `code`/`status` and the body in `response.data`. */
function v6(code: number, reason: string, options: { info?: string } = {}): GaxiosError {
  const url = new URL('https://compute.googleapis.com/compute/v1/projects/p/zones/z/instances');
  const config = { url, headers: new Headers() } as unknown as ConstructorParameters<typeof GaxiosError>[1];
  const response = {
    status: code,
    statusText: '',
    data: body(code, reason, options),
    bodyUsed: true,
    headers: new Headers(),
    config,
  } as unknown as ConstructorParameters<typeof GaxiosError>[2];
  const error = new GaxiosError('message text', config, response);
  return Object.assign(error, { code });
}

/** A bare 7.x GoogleError with a gRPC code. */
function grpc(code: number): GoogleError {
  return Object.assign(new GoogleError('x'), { code });
}

describe('GCP error classification (6.x and 7.x client shapes)', () => {
  const cases: [string, number, string, { status?: string; info?: string }, string, string][] = [
    ['not found', 404, 'notFound', { status: 'NOT_FOUND' }, 'NotFound', 'notFound'],
    ['already exists', 409, 'alreadyExists', { status: 'ALREADY_EXISTS' }, 'Conflict', 'alreadyExists'],
    [
      'rate limit (per-minute quota)',
      403,
      'rateLimitExceeded',
      { status: 'PERMISSION_DENIED', info: 'RATE_LIMIT_EXCEEDED' },
      'Throttled',
      'RATE_LIMIT_EXCEEDED',
    ],
    [
      'concurrent operations',
      403,
      'rateLimitExceeded',
      { info: 'CONCURRENT_OPERATIONS_QUOTA_EXCEEDED' },
      'Throttled',
      'CONCURRENT_OPERATIONS_QUOTA_EXCEEDED',
    ],
    ['resource quota', 403, 'quotaExceeded', { info: 'QUOTA_EXCEEDED' }, 'Invalid', 'QUOTA_EXCEEDED'],
    ['permission denied', 403, 'forbidden', { status: 'PERMISSION_DENIED' }, 'Unauthorized', 'forbidden'],
    ['invalid', 400, 'invalid', { status: 'INVALID_ARGUMENT' }, 'Invalid', 'invalid'],
    ['backend error', 503, 'backendError', { status: 'UNAVAILABLE' }, 'Transient', 'backendError'],
    ['too many requests', 429, 'rateLimitExceeded', { status: 'RESOURCE_EXHAUSTED' }, 'Throttled', 'rateLimitExceeded'],
  ];

  for (const [title, code, reason, options, kind, v6Reason] of cases) {
    it(`${title}: HTTP ${code} → ${kind}`, () => {
      assert.equal(classifyGce(v6(code, reason, options)).kind, kind, '6.x GaxiosError');
      assert.equal(classifyGce(v6(code, reason, options)).reason, options.info ?? v6Reason);
      assert.equal(classifyGce(v7(code, reason, options)).kind, kind, '7.x GoogleError');
    });
  }

  it('7.x: gRPC codes without HTTP status (5 → NotFound, 6/10 → Conflict, 8 → Throttled, 14 → Transient, 16 → Unauthorized)', () => {
    assert.deepEqual(
      [5, 6, 10, 8, 14, 16, 3].map((c) => classifyGce(grpc(c)).kind),
      ['NotFound', 'Conflict', 'Conflict', 'Throttled', 'Transient', 'Unauthorized', 'Invalid'],
    );
    assert.equal(classifyGce(grpc(6)).reason, 'alreadyExists');
    assert.equal(classifyGce(v7(409, 'alreadyExists')).kind, 'Conflict', '409 without status is ABORTED (10) in 7.x');
  });

  it('7.x: a 403 without ErrorInfo is classified by errors[].reason from the raw body the transport keeps', () => {
    for (const [reason, kind] of [
      ['rateLimitExceeded', 'Throttled'],
      ['userRateLimitExceeded', 'Throttled'],
      ['quotaExceeded', 'Invalid'],
      ['forbidden', 'Unauthorized'],
    ] as const) {
      const error = rest(403, reason, { status: 'PERMISSION_DENIED' });
      assert.equal(error.code, 7, 'PERMISSION_DENIED');
      assert.deepEqual([classifyGce(error).kind, classifyGce(error).reason], [kind, reason], reason);
    }
    const bare = GoogleError.parseHttpError(body(403, 'rateLimitExceeded'));
    assert.equal(classifyGce(bare).kind, 'Unauthorized', 'no raw body and no ErrorInfo: only the status is left');
    assert.equal(classifyGce(v7(409, 'alreadyExists')).kind, 'Conflict', '409 without status is ABORTED (10) in 7.x');
  });

  it('transport failures, timeouts and unknowns are Transient; ProviderErrors keep their kind', () => {
    const reset = Object.assign(new GoogleError('request failed'), {
      code: 14,
      cause: Object.assign(new Error('socket'), { code: 'ECONNRESET' }),
    });
    assert.deepEqual(classifyGce(reset), { kind: 'Transient', reason: 'ECONNRESET' });
    assert.equal(classifyGce(Object.assign(new Error('x'), { code: 'ETIMEDOUT' })).kind, 'Transient');
    assert.equal(classifyGce(Object.assign(new Error('x'), { name: 'AbortError' })).kind, 'Transient');
    assert.equal(classifyGce('weird').kind, 'Transient');
    const own = new ProviderError({
      kind: 'Invalid',
      reason: 'ImageDigestMismatch',
      provider: 'p',
      operation: 'verifyImage',
      message: 'm',
    });
    assert.deepEqual(classifyGce(own), { kind: 'Invalid', reason: 'ImageDigestMismatch', retryAfterMs: undefined });
  });

  it('operation error codes', () => {
    assert.equal(classifyOperationCode('QUOTA_EXCEEDED').kind, 'Invalid');
    assert.equal(classifyOperationCode('ZONE_RESOURCE_POOL_EXHAUSTED').kind, 'Transient');
    assert.equal(classifyOperationCode('RESOURCE_NOT_FOUND').kind, 'Invalid');
    assert.equal(classifyOperationCode('SOMETHING_NEW').kind, 'Invalid');
  });
});

describe('GCP names, request ids and labels', () => {
  it('request ids are deterministic UUIDs per (key, generation, attempt)', () => {
    const key = '0123456789abcdef0123456789abcdef';
    const id = requestIdFor(key, 0, 0);
    assert.match(id, /^[0-9a-f]{8}-[0-9a-f]{4}-5[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/);
    assert.equal(requestIdFor(key, 0, 0), id);
    assert.equal(new Set([id, requestIdFor(key, 0, 1), requestIdFor(key, 1, 0), requestIdFor('other', 0, 0)]).size, 4);
    assert.equal(requestIdFor(key, 0, 0, 'europe-west1-b'), requestIdFor(key, 0, 0, 'europe-west1-b'));
    assert.notEqual(
      requestIdFor(key, 0, 0, 'europe-west1-b'),
      requestIdFor(key, 0, 0, 'europe-west1-c'),
      'the zone is part of the request id',
    );
    assert.equal(keyLabel(key), key);
    assert.match(keyLabel('Not Hex!'), /^[0-9a-f]{32}$/);
  });

  it('generation names stay valid GCE names (≤ 63 characters)', () => {
    const longest = `${'g'.repeat(40)}-abcdef12-9999`;
    for (const g of [0, 1, 23]) assert.match(generationName(longest, g), /^[a-z](?:[-a-z0-9]{0,61}[a-z0-9])?$/);
    assert.equal(generationName('web-abcdef12-0', 2), 'web-abcdef12-0-r2');
  });

  it('the digest label is the first 63 hex characters; the full digest lives in metadata', () => {
    const digest = `sha256:${'0123456789abcdef'.repeat(4)}`;
    assert.equal(digestLabel(digest), '0123456789abcdef'.repeat(4).slice(0, 63));
    const instance = {
      id: '123',
      name: 'web-1',
      zone: 'https://www.googleapis.com/compute/v1/projects/p/zones/europe-west1-b',
      status: 'TERMINATED',
      labels: { 'drover-fleet': 'f', 'drover-group': 'web', 'drover-slot': '3', 'drover-digest': digestLabel(digest) },
      metadata: {
        items: [
          { key: 'drover-digest', value: digest },
          { key: 'drover-revision', value: 'abc' },
        ],
      },
    };
    const seen = toObserved(instance, 'gcp', 'f');
    assert.equal(seen?.imageDigest, digest);
    assert.equal(seen?.state, 'stopped', 'TERMINATED is a stopped instance on GCE');
    assert.equal(seen?.zone, 'europe-west1-b');
    assert.equal(seen?.slot, 3);
    const edited = toObserved({ ...instance, labels: { ...instance.labels, 'drover-digest': 'x' } }, 'gcp', 'f');
    assert.equal(edited?.imageDigest, undefined, 'label and metadata disagree: unknown digest (drift)');
    assert.equal(toObserved(instance, 'gcp', 'other'), undefined);
    assert.deepEqual(['PROVISIONING', 'STAGING', 'RUNNING', 'STOPPING', 'SUSPENDED', 'REPAIRING'].map(stateOf), [
      'pending',
      'pending',
      'running',
      'stopping',
      'stopped',
      'unknown',
    ]);
  });

  it('the revision label is the Git revision as GCE allows a label value: a commit id as is, anything else made fit', () => {
    const sha = '0123456789abcdef0123456789abcdef01234567';
    assert.equal(revisionLabel(sha), sha);
    assert.equal(revisionLabel('Release/2026.12 RC1'), 'release_2026_12_rc1');
    assert.equal(revisionLabel('a'.repeat(80)).length, 63);
    for (const value of [sha, 'Release/2026.12 RC1', 'ÄÖ:@#', 'a'.repeat(80)]) assert.match(revisionLabel(value), /^[a-z0-9_-]{0,63}$/);
  });
});
