import assert from 'node:assert/strict';
import { classifyAzure } from '../../../providers/azure/classify.ts';
import { createAzureProvider } from '../../../providers/azure/open.ts';
import { ProviderError } from '../../../src/contract/errors.ts';
import type { AzureSimulator } from '../../../providers/azure/sim.ts';
import { CONFIG, FAST_RETRY, FLEET, rejectionOf, startSim } from './sim-fixtures.ts';

/** An error shaped like @azure/core-rest-pipeline's RestError. */
function restError(statusCode: number | undefined, code: string | undefined, headers: Record<string, string> = {}): Error {
  return Object.assign(new Error('x'), {
    name: 'RestError',
    statusCode,
    code,
    response: { headers: { get: (name: string) => headers[name] } },
  });
}

describe('Azure error classification (by code and status, never by message)', () => {
  it('maps ARM codes, statuses, transport and identity failures to kinds', () => {
    assert.deepEqual(classifyAzure(restError(429, 'OperationNotAllowed', { 'retry-after': '7' })), {
      kind: 'Throttled',
      reason: 'OperationNotAllowed',
      retryAfterMs: 7000,
    });
    assert.deepEqual(classifyAzure(restError(429, 'SubscriptionRequestsThrottled', { 'retry-after-ms': '250' })), {
      kind: 'Throttled',
      reason: 'SubscriptionRequestsThrottled',
      retryAfterMs: 250,
    });
    assert.equal(classifyAzure(restError(409, 'OperationNotAllowed')).kind, 'Invalid', 'the same code with 409 is a quota refusal');
    assert.equal(classifyAzure(restError(404, 'ResourceNotFound')).kind, 'NotFound');
    assert.equal(classifyAzure(restError(412, 'PreconditionFailed')).kind, 'Conflict');
    assert.equal(classifyAzure(restError(400, 'NicInUse')).kind, 'Conflict');
    assert.equal(classifyAzure(restError(400, 'InvalidParameter')).kind, 'Invalid');
    assert.equal(
      classifyAzure(restError(404, 'ResourceGroupNotFound')).kind,
      'Invalid',
      'a missing resource group is configuration, not a gone instance',
    );
    assert.equal(classifyAzure(restError(401, 'InvalidAuthenticationToken')).kind, 'Unauthorized');
    assert.equal(classifyAzure(restError(403, 'AuthorizationFailed')).kind, 'Unauthorized');
    assert.equal(classifyAzure(restError(503, 'Whatever')).kind, 'Transient');
    assert.equal(classifyAzure(restError(418, undefined)).kind, 'Invalid');
    assert.equal(classifyAzure(restError(undefined, 'REQUEST_SEND_ERROR')).kind, 'Transient');
    assert.equal(classifyAzure(Object.assign(new Error('reset'), { code: 'ECONNRESET' })).kind, 'Transient');
    assert.equal(classifyAzure(Object.assign(new Error('no credential'), { name: 'CredentialUnavailableError' })).kind, 'Unauthorized');
    assert.equal(classifyAzure({ code: 'AllocationFailed' }).kind, 'Transient');
    assert.equal(classifyAzure({ code: 'SkuNotAvailable' }).kind, 'Invalid');
    const mine = new ProviderError({ kind: 'Conflict', reason: 'VmDeleting', provider: 'p', operation: 'create', message: 'm' });
    assert.deepEqual(classifyAzure(mine), { kind: 'Conflict', reason: 'VmDeleting', retryAfterMs: undefined });
  });
});

describe('Azure provider credentials', () => {
  let sim: AzureSimulator;
  const saved = process.env['DROVER_AZURE_TOKEN'];

  beforeEach(async () => {
    delete process.env['DROVER_AZURE_TOKEN'];
    sim = await startSim({ tokens: ['good-token'] });
  });
  afterEach(async () => {
    if (saved === undefined) delete process.env['DROVER_AZURE_TOKEN'];
    else process.env['DROVER_AZURE_TOKEN'] = saved;
    await sim.close();
  });

  const open = (extra: Parameters<typeof createAzureProvider>[0] extends infer C ? Partial<C> : never, options = {}) =>
    createAzureProvider({ config: CONFIG, fleet: FLEET, endpoint: sim.url, caPem: sim.ca, ...extra }, { retry: FAST_RETRY, ...options });

  it('a static token is sent as the bearer; a refused one is Unauthorized and never echoed', async () => {
    await (await open({ staticCredentials: { token: 'good-token' } })).list({ fleet: FLEET });
    const refused = await rejectionOf((await open({ staticCredentials: { token: 'secret-bad-token' } })).list({ fleet: FLEET }));
    assert.deepEqual([(refused as ProviderError).kind, (refused as ProviderError).reason], ['Unauthorized', 'InvalidAuthenticationToken']);
    assert.ok(!refused.message.includes('secret-bad-token'));
    await assert.rejects(open({ staticCredentials: {} }), (e: ProviderError) => e.reason === 'CredentialsMissing');
  });

  it('DROVER_AZURE_TOKEN (set by drover sim) authenticates against an overridden endpoint', async () => {
    process.env['DROVER_AZURE_TOKEN'] = 'good-token';
    await (await open({})).list({ fleet: FLEET });
  });

  it('an explicit token credential wins; a credential that cannot produce a token is Unauthorized', async () => {
    const credential = { getToken: () => Promise.resolve({ token: 'good-token', expiresOnTimestamp: Date.now() + 60_000 }) };
    await (await open({ staticCredentials: { token: 'ignored' } }, { credential })).list({ fleet: FLEET });
    const unavailable = {
      getToken: () => Promise.reject(Object.assign(new Error('no managed identity'), { name: 'CredentialUnavailableError' })),
    };
    const refused = await rejectionOf((await open({}, { credential: unavailable })).list({ fleet: FLEET }));
    assert.deepEqual([(refused as ProviderError).kind, (refused as ProviderError).reason], ['Unauthorized', 'CredentialUnavailableError']);
  });

  it('production builds DefaultAzureCredential lazily (no call at construction) and checks the spec', async () => {
    const provider = await createAzureProvider({
      config: {
        ...CONFIG,
        spec: { ...CONFIG.spec, type: 'azure', credentials: { tenantId: '11111111-2222-3333-4444-555555555555' } } as never,
      },
      fleet: FLEET,
    });
    assert.equal(provider.type, 'azure');
    await assert.rejects(
      createAzureProvider({ config: { ...CONFIG, type: 'aws' }, fleet: FLEET }),
      (e: ProviderError) => e.reason === 'WrongProviderType',
    );
    await assert.rejects(
      createAzureProvider({ config: { ...CONFIG, spec: { ...CONFIG.spec, resourceGroup: '' } as never }, fleet: FLEET }),
      (e: ProviderError) => e.reason === 'resourceGroupMissing',
    );
  });
});
