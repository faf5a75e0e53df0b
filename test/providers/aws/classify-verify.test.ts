import assert from 'node:assert/strict';
import { DescribeInstancesCommand, EC2Client, RunInstancesCommand, TerminateInstancesCommand } from '@aws-sdk/client-ec2';
import { classifyAws } from '../../../providers/aws/classify.ts';
import { createAwsProvider } from '../../../providers/aws/open.ts';
import type { Ec2Simulator } from '../../../providers/aws/sim.ts';
import { ProviderError } from '../../../src/contract/errors.ts';
import type { Provider } from '../../../src/contract/provider.ts';
import { AMI, CONFIG, DIGEST, FLEET, providerFor, rejectionOf, request, startSim } from './fixtures.ts';
import { rejectionOf as thrown } from '../shared-fixtures.ts';

function sdk(sim: Ec2Simulator, accessKeyId = 'AKIDTEST'): EC2Client {
  return new EC2Client({ endpoint: sim.url, region: sim.region, credentials: { accessKeyId, secretAccessKey: 's' }, maxAttempts: 1 });
}

function run(token: string, extra: Record<string, unknown> = {}): RunInstancesCommand {
  return new RunInstancesCommand({ ImageId: AMI, InstanceType: 't3.small', MinCount: 1, MaxCount: 1, ClientToken: token, ...extra });
}

describe('AWS provider classify: real SDK errors from the simulator', () => {
  let sim: Ec2Simulator;
  let ec2: EC2Client;
  let provider: Provider;

  before(async () => {
    sim = await startSim({ accessKeys: ['AKIDTEST'], unsupported: { 'eu-west-1c': ['t3.small'] } });
    ec2 = sdk(sim);
    provider = await providerFor(sim);
  });
  after(async () => {
    ec2.destroy();
    await provider.close();
    await sim.close();
  });

  it('maps every EC2 error code the simulator produces', async () => {
    const cases: [string, () => Promise<unknown>, string][] = [
      ['AuthFailure', () => sdk(sim, 'AKIDWRONG').send(new DescribeInstancesCommand({})), 'Unauthorized'],
      ['InvalidInstanceID.NotFound', () => ec2.send(new TerminateInstancesCommand({ InstanceIds: ['i-0123456789abcdef0'] })), 'NotFound'],
      ['InvalidInstanceID.Malformed', () => ec2.send(new TerminateInstancesCommand({ InstanceIds: ['i-x'] })), 'Invalid'],
      ['InvalidAMIID.NotFound', () => ec2.send(run('c1', { ImageId: 'ami-0fffffffffffffff0' })), 'Invalid'],
      ['InvalidParameterValue', () => ec2.send(run('c2', { Placement: { AvailabilityZone: 'nowhere-1a' } })), 'Invalid'],
      ['Unsupported', () => ec2.send(run('c3', { Placement: { AvailabilityZone: 'eu-west-1c' } })), 'Invalid'],
      [
        'IdempotentParameterMismatch',
        async () => {
          await ec2.send(run('c4'));
          return ec2.send(run('c4', { InstanceType: 't3.large' }));
        },
        'Conflict',
      ],
    ];
    for (const [code, call, kind] of cases) {
      const error = await thrown(call());
      assert.equal((error as Error).name, code);
      assert.equal(provider.classify(error), kind, code);
    }
    const faults: [string, number, string][] = [
      ['RequestLimitExceeded', 503, 'Throttled'],
      ['InternalError', 500, 'Transient'],
      ['Unavailable', 503, 'Transient'],
      ['InsufficientInstanceCapacity', 500, 'Transient'],
      ['IdempotentInstanceTerminated', 400, 'Conflict'],
      ['InstanceLimitExceeded', 400, 'Invalid'],
    ];
    for (const [code, status, kind] of faults) {
      sim.faults.add({ kind: 'error', code, status, count: 1 });
      const error = await thrown(ec2.send(new DescribeInstancesCommand({})));
      assert.equal((error as { $metadata: { httpStatusCode: number } }).$metadata.httpStatusCode, status);
      assert.equal(provider.classify(error), kind, code);
    }
  });

  it('maps transport failures, unknown shapes and ProviderErrors', async () => {
    const closed = new EC2Client({
      endpoint: 'http://127.0.0.1:9',
      region: 'eu-west-1',
      credentials: { accessKeyId: 'a', secretAccessKey: 'b' },
      maxAttempts: 1,
    });
    assert.equal(provider.classify(await thrown(closed.send(new DescribeInstancesCommand({})))), 'Transient');
    closed.destroy();
    sim.faults.add({ kind: 'drop-after', count: 1 });
    assert.equal(provider.classify(await thrown(ec2.send(new DescribeInstancesCommand({ MaxResults: 5 })))), 'Transient');
    assert.equal(provider.classify(Object.assign(new Error('x'), { code: 'ECONNRESET' })), 'Transient');
    assert.equal(provider.classify(Object.assign(new Error('x'), { name: 'TimeoutError' })), 'Transient');
    assert.equal(provider.classify({ name: 'Weird', $metadata: { httpStatusCode: 429 } }), 'Throttled');
    assert.equal(provider.classify({ name: 'Weird', $metadata: { httpStatusCode: 403 } }), 'Unauthorized');
    assert.equal(provider.classify({ name: 'Weird', $metadata: { httpStatusCode: 422 } }), 'Invalid');
    assert.equal(provider.classify({ name: 'CredentialsProviderError' }), 'Unauthorized');
    assert.equal(provider.classify('string'), 'Transient');
    const own = new ProviderError({ kind: 'Invalid', reason: 'ImageDigestMismatch', provider: 'p', operation: 'o', message: 'm' });
    assert.equal(provider.classify(own), 'Invalid');
    assert.deepEqual(classifyAws({ name: 'RequestLimitExceeded', $response: { headers: { 'retry-after': '2' } } }), {
      kind: 'Throttled',
      reason: 'RequestLimitExceeded',
      retryAfterMs: 2000,
    });
  });

  it('wrong credentials surface as ProviderError Unauthorized without retries', async () => {
    const bad = await createAwsProvider(
      { config: CONFIG, fleet: FLEET, endpoint: sim.url, staticCredentials: { accessKeyId: 'AKIDWRONG', secretAccessKey: 'hunter2' } },
      { retry: { baseDelayMs: 1 } },
    );
    sim.engine.calls.clear();
    const error = await rejectionOf(bad.list({ fleet: FLEET }));
    assert.deepEqual([error.kind, error.reason], ['Unauthorized', 'AuthFailure']);
    assert.ok(!String((error as Error).message).includes('hunter2'));
    assert.equal(sim.engine.calls.list().length, 0, 'refused at the door, before any action');
    await bad.close();
  });
});

describe('AWS provider verifyImage', () => {
  let sim: Ec2Simulator;
  let provider: Provider;

  before(async () => {
    sim = await startSim();
    sim.addImage({ id: 'ami-0aaaaaaaaaaaaaaa1', tags: { 'drover:digest': `sha256:${'0'.repeat(64)}` } });
    sim.addImage({ id: 'ami-0aaaaaaaaaaaaaaa2', tags: {} });
    sim.addImage({ id: 'ami-0aaaaaaaaaaaaaaa3', state: 'pending', tags: { 'drover:digest': DIGEST } });
    provider = await providerFor(sim);
  });
  after(async () => {
    await provider.close();
    await sim.close();
  });

  const verify = (id: string | undefined) =>
    provider.verifyImage({ name: 'web', digest: DIGEST, artifact: id === undefined ? {} : { id } });

  it('accepts an AMI whose drover:digest tag matches', async () => {
    await verify(AMI);
  });

  it('refuses a mismatched or missing digest, a missing or malformed AMI, before any launch', async () => {
    const cases: [string | undefined, string, string][] = [
      ['ami-0aaaaaaaaaaaaaaa1', 'Invalid', 'ImageDigestMismatch'],
      ['ami-0aaaaaaaaaaaaaaa2', 'Invalid', 'ImageDigestMismatch'],
      ['ami-0bbbbbbbbbbbbbbb0', 'Invalid', 'ImageNotFound'],
      ['not-an-ami', 'Invalid', 'ImageNotFound'],
      [undefined, 'Invalid', 'ImageNotFound'],
      ['ami-0aaaaaaaaaaaaaaa3', 'Transient', 'ImageNotAvailable'],
    ];
    for (const [id, kind, reason] of cases) {
      const error = await rejectionOf(verify(id));
      assert.ok(error instanceof ProviderError, String(id));
      assert.deepEqual([error.kind, error.reason], [kind, reason], String(id));
    }
    assert.equal(sim.world.all().length, 0);
  });

  it('create with a missing AMI fails Invalid and launches nothing', async () => {
    const req = request('web', 0);
    const error = await rejectionOf(provider.create({ ...req, template: { ...req.template, artifact: { id: 'ami-0bbbbbbbbbbbbbbb0' } } }));
    assert.deepEqual([error.kind, error.reason], ['Invalid', 'InvalidAMIID.NotFound']);
    assert.equal(sim.world.all().length, 0);
  });
});
