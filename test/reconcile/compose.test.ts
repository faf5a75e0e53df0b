/**
 * The composition root and the state directory's layout: limits are the cloud's defaults under the
 * operator's settings, every opened provider is metered, providers get their record paths from
 * StateDir only when the command keeps records, and the stores write where StateDir says.
 */
import assert from 'node:assert/strict';
import { mkdtemp, readdir, readFile, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { daemonStores, limitsOf, openLimitedProviders, passStores } from '../../src/reconcile/compose.ts';
import type { ProviderCall } from '../../src/reconcile/limited-provider.ts';
import { StateDir } from '../../src/reconcile/state-dir.ts';
import type { LaunchTemplate } from '../../src/contract/fleet.ts';
import type { Provider, ProviderContext } from '../../src/contract/provider.ts';
import { stateWith } from './daemon-fixtures.ts';

/** A template as the store keeps it (JSON it does not read into). */
const TEMPLATE = { machine: { type: 't3.small' } } as unknown as LaunchTemplate;

/** A factory whose providers list nothing, recording the contexts it was given. */
function recordingFactory(contexts: ProviderContext[]) {
  return () =>
    Promise.resolve((context: ProviderContext): Promise<Provider> => {
      contexts.push(context);
      return Promise.resolve({
        name: context.config.name,
        type: context.config.type,
        list: () => Promise.resolve([]),
        close: () => Promise.resolve(),
      } as unknown as Provider);
    });
}

describe('composition root', () => {
  let dir: string;
  beforeEach(async () => {
    dir = await mkdtemp(path.join(tmpdir(), 'drover-compose-'));
  });
  afterEach(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  it("limits: the cloud's defaults, with the operator's settings that are set on top", () => {
    const aws = limitsOf('aws');
    const tuned = limitsOf('aws', { concurrency: undefined, ratePerSecond: 1, burst: undefined });
    assert.equal(tuned.ratePerSecond, 1);
    assert.equal(tuned.burst, aws.burst, 'an unset setting keeps the default');
    assert.deepEqual(tuned.lanes, aws.lanes, "the destroy and read lanes stay the cloud's");
  });

  it('opens every provider metered, with its records in the state directory when one is given', async () => {
    const contexts: ProviderContext[] = [];
    const calls: ProviderCall[] = [];
    const stateDir = new StateDir(dir);
    const wiring = {
      factories: recordingFactory(contexts),
      bindings: { a: { type: 'aws' as const } },
      env: {},
      untrustedRoots: [],
      limits: {},
      observe: (call: ProviderCall) => void calls.push(call),
    };
    const opened = await openLimitedProviders(stateWith('a'), { ...wiring, stateDir });
    assert.deepEqual([...opened.errors], []);
    await opened.providers.get('a')!.list({ fleet: 'unit' });
    assert.deepEqual(
      calls.map((c) => [c.provider, c.operation, c.code]),
      [['a', 'list', 'ok']],
      'the call went through the limiter',
    );
    assert.equal(contexts[0]?.stateFile?.('launches.json'), path.join(dir, 'providers', 'a', 'launches.json'));

    const planning = await openLimitedProviders(stateWith('a'), wiring);
    assert.equal(contexts[1]?.stateFile, undefined, 'no state directory: the provider keeps no records');
    await planning.close();
    await opened.close();
  });

  it('the metered provider says when launches are blocked as the provider does, and has no such method when it has none', async () => {
    const blockedUntil = Date.now() + 60_000;
    const blocking = () =>
      Promise.resolve((context: ProviderContext): Promise<Provider> =>
        Promise.resolve({
          name: context.config.name,
          type: context.config.type,
          launchesBlockedUntil: () => blockedUntil,
          close: () => Promise.resolve(),
        } as unknown as Provider),
      );
    const wiring = { bindings: { a: { type: 'aws' as const } }, env: {}, untrustedRoots: [], limits: {}, observe: () => undefined };
    const opened = await openLimitedProviders(stateWith('a'), { ...wiring, factories: blocking });
    assert.equal(opened.providers.get('a')!.launchesBlockedUntil?.(), blockedUntil);
    const plain = await openLimitedProviders(stateWith('a'), { ...wiring, factories: recordingFactory([]) });
    assert.equal(plain.providers.get('a')!.launchesBlockedUntil, undefined);
    await opened.close();
    await plain.close();
  });

  it("the daemon's stores write where StateDir says, 0600 in 0700", async () => {
    const stateDir = new StateDir(path.join(dir, 'state'));
    assert.equal(await stateDir.secure(), 0);
    const stores = daemonStores(stateDir);
    await stores.load();
    await stores.suspensions.set('web', true);
    await stores.status.event({ type: 'Normal', reason: 'Test', message: 'test' });
    assert.deepEqual((await readdir(stateDir.root)).sort(), [path.basename(stateDir.eventLog), path.basename(stateDir.suspensions)].sort());
    assert.equal((await stat(stateDir.suspensions)).mode & 0o777, 0o600);
    assert.equal((await stat(stateDir.eventLog)).mode & 0o777, 0o600);
    assert.equal((await stat(stateDir.root)).mode & 0o777, 0o700);
    const reloaded = daemonStores(stateDir);
    await reloaded.load();
    assert.deepEqual([...reloaded.suspensions.names], ['web'], 'read back from the same file');
  });

  it("plan's stores (persist: false) read the records that exist and never write", async () => {
    const stateDir = new StateDir(path.join(dir, 'state'));
    const kept = passStores(stateDir);
    kept.templates.remember('web', 'aaaa', TEMPLATE, 1);
    await kept.templates.save();
    const before = await readFile(stateDir.templates, 'utf8');
    const plan = passStores(stateDir, { persist: false });
    await plan.load();
    assert.deepEqual(plan.templates.get('web', 'aaaa'), TEMPLATE, 'plan reads the existing record');
    plan.templates.remember('web', 'bbbb', TEMPLATE, 2);
    plan.failed.record('web', 'bbbb');
    await Promise.all([plan.templates.save(), plan.failed.save()]);
    assert.deepEqual(await readdir(stateDir.root), [path.basename(stateDir.templates)], 'no failed-template record written');
    assert.equal(await readFile(stateDir.templates, 'utf8'), before, 'the template record is unchanged');
  });
});
