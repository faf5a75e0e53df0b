/**
 * HA fencing on Compute Engine (providers/fencing.ts, the auth client's gaxios adapter): every
 * insert and delete attempt passes the lane holder's fence and carries its token, a launch is
 * labelled with it, and a refused fence sends nothing more. Verdicts from the simulator's record
 * of the calls and of the world.
 */
import assert from 'node:assert/strict';
import { generateKeyPairSync } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { GoogleAuth, JWT } from 'google-auth-library';
import { gceClientOptions } from '../../../providers/gcp/client.ts';
import { LABEL } from '../../../providers/gcp/labels.ts';
import type { GceSimulator } from '../../../providers/gcp/sim.ts';
import type { Provider } from '../../../src/contract/provider.ts';
import { gcp } from '../../clouds/gcp.ts';
import { assertAllFenced, lostFence, mutatingCalls, rejectionOf, TestFence } from '../fence-fixtures.ts';
import { CONFIG, FAST_RETRY, FLEET, request, startSim } from './fixtures.ts';

describe('gcp provider: HA fencing', function () {
  this.timeout(20_000);
  let sim: GceSimulator;

  beforeEach(async () => {
    sim = await startSim();
  });
  afterEach(async () => {
    await sim.close();
  });

  const open = (fence?: TestFence): Promise<Provider> => {
    const start = { fleet: FLEET, options: { retry: FAST_RETRY, operationPollMs: 2 } };
    return gcp.createProvider(CONFIG, sim, fence === undefined ? start : { ...start, fence });
  };

  it('fences every insert and delete and labels the launch with the token; reads and waits carry none', async () => {
    const fence = new TestFence('4711');
    const provider = await open(fence);
    const created = await provider.create(request('web', 0));
    await provider.destroy(created);
    assert.deepEqual(assertAllFenced(sim.engine, '4711'), ['compute.instances.insert', 'compute.instances.delete']);
    assert.equal(fence.checks, 2);
    const calls = sim.engine.calls.list();
    assert.equal(calls.filter((r) => r.fence !== undefined).length, 2, 'only mutating calls carry a fence');
    assert.ok(calls.length > 2, 'reads were made');
    assert.deepEqual(
      sim.world.all().map((i) => gcp.fenceOf(i)),
      ['4711'],
    );
  });

  it('a refused fence rejects create and destroy with its FenceLost and sends nothing', async () => {
    const victim = await (await open()).create(request('web', 5));
    const since = sim.engine.mutations.mutating().at(-1)!.seq;
    const fence = lostFence('12');
    const provider = await open(fence);
    assert.equal(await rejectionOf(provider.create(request('web', 0))), fence.refusal);
    assert.equal(fence.checks, 1, 'not retried');
    assert.equal(await rejectionOf(provider.destroy(victim)), fence.refusal);
    assert.equal(fence.checks, 2);
    assert.deepEqual(gcp.mutatingCalls(sim, since), []);
    assert.equal(sim.world.all().filter((i) => i.state !== 'terminating' && i.state !== 'terminated').length, 1);
  });

  it('does not retry a throttled insert once the fence refuses', async () => {
    sim.faults.add({ kind: 'throttle', actions: ['compute.instances.insert'], count: 1 });
    const fence = new TestFence('99', 1);
    const provider = await open(fence);
    assert.equal(await rejectionOf(provider.create(request('web', 0))), fence.refusal);
    assert.equal(fence.checks, 2, 'checked before the retry');
    assert.deepEqual(
      mutatingCalls(sim.engine).map((r) => [r.action, r.status, r.fence]),
      [['compute.instances.insert', 403, '99']], // GCE throttles with 403 rateLimitExceeded,
    );
    assert.deepEqual(sim.world.all(), []);
  });

  it("fences through a service account key's JWT client too (the operator's key file)", async () => {
    const dir = mkdtempSync(path.join(tmpdir(), 'drover-gce-fence-'));
    try {
      const keyFile = path.join(dir, 'sa.json');
      writeFileSync(keyFile, JSON.stringify(serviceAccountKey()), { mode: 0o600 });
      const fence = new TestFence('31');
      const start = { fleet: FLEET, credentials: { keyFile }, fence, options: { retry: FAST_RETRY, operationPollMs: 2 } };
      const provider = await gcp.createProvider(CONFIG, sim, start);
      await provider.destroy(await provider.create(request('web', 0)));
      assert.deepEqual(assertAllFenced(sim.engine, '31'), ['compute.instances.insert', 'compute.instances.delete']);
      assert.ok(
        sim.engine.calls.list().every((r) => r.status !== 401),
        'the key signed every call',
      );
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('hands the fence adapter to the client Application Default Credentials find (no key, remote endpoint)', async () => {
    const fence = new TestFence('8');
    const options = gceClientOptions({ config: CONFIG, fleet: FLEET, endpoint: 'https://compute.private.example', fence }) as {
      clientOptions?: { transporterOptions?: { adapter?: unknown } };
    };
    const adapter = options.clientOptions?.transporterOptions?.adapter;
    assert.equal(typeof adapter, 'function');
    const dir = mkdtempSync(path.join(tmpdir(), 'drover-gce-adc-'));
    const saved = process.env['GOOGLE_APPLICATION_CREDENTIALS'];
    try {
      const keyFile = path.join(dir, 'adc.json');
      writeFileSync(keyFile, JSON.stringify(serviceAccountKey()), { mode: 0o600 });
      process.env['GOOGLE_APPLICATION_CREDENTIALS'] = keyFile;
      // What gax does with these options: a GoogleAuth (ADC) that gives clientOptions to the client it finds.
      const client = await new GoogleAuth(options as never).getClient();
      assert.ok(client instanceof JWT);
      assert.equal(client.transporter.defaults.adapter, adapter);
    } finally {
      if (saved === undefined) delete process.env['GOOGLE_APPLICATION_CREDENTIALS'];
      else process.env['GOOGLE_APPLICATION_CREDENTIALS'] = saved;
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('without a fence sends no fence header and sets no fence label', async () => {
    const provider = await open();
    await provider.destroy(await provider.create(request('web', 0)));
    assert.deepEqual(sim.engine.mutations.fenced(), []);
    assert.equal(mutatingCalls(sim.engine).length, 2);
    assert.equal(sim.world.all()[0]?.tags[LABEL.fence], undefined);
  });
});

/** A service account key with a real RSA key (self-signed JWTs need one; the simulator checks no token). */
function serviceAccountKey(): Record<string, string> {
  const { privateKey } = generateKeyPairSync('rsa', {
    modulusLength: 2048,
    privateKeyEncoding: { type: 'pkcs8', format: 'pem' },
    publicKeyEncoding: { type: 'spki', format: 'pem' },
  });
  return {
    type: 'service_account',
    client_email: 'sa@acme-prod.iam.gserviceaccount.com',
    private_key: privateKey,
    private_key_id: 'k1',
    project_id: 'acme-prod',
  };
}
