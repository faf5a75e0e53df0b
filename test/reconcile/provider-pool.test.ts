/** ProviderPool: each lane's provider opened once per Provider document, reopened when it changes, retried when it failed. */
import assert from 'node:assert/strict';
import type { DesiredState } from '../../src/contract/fleet.ts';
import { ReconcileError } from '../../src/reconcile/errors.ts';
import type { OpenedProviders } from '../../src/reconcile/open-providers.ts';
import { ProviderPool } from '../../src/reconcile/provider-pool.ts';
import type { Provider } from '../../src/contract/provider.ts';

function stateOf(region: string, line = 1): DesiredState {
  const doc = (name: string) => ({ name, type: 'aws', spec: { type: 'aws', region }, source: { file: 'p.yaml', line, col: 1 } });
  return { fleet: { id: 'unit' }, providers: { a: doc('a'), b: doc('b') }, groups: {} } as unknown as DesiredState;
}

/** An opener that records what it opened and closed; `fail` names providers whose opening reports an error. */
function recordingOpener(fail: Set<string> = new Set()) {
  const log: string[] = [];
  const open = (state: DesiredState): Promise<OpenedProviders> => {
    const names = Object.keys(state.providers);
    const region = (Object.values(state.providers)[0]?.spec as { region: string } | undefined)?.region ?? 'none';
    log.push(`open ${names.join(',')}@${region}`);
    const providers = new Map<string, Provider>();
    const errors = new Map<string, ReconcileError>();
    for (const name of names) {
      if (fail.has(name)) errors.set(name, new ReconcileError('stalled', 'ProviderOpenFailed', `provider ${name}: test`));
      else providers.set(name, { name } as unknown as Provider);
    }
    return Promise.resolve({ providers, errors, close: () => Promise.resolve(void log.push(`close ${names.join(',')}@${region}`)) });
  };
  return { log, open };
}

describe('ProviderPool', () => {
  it("opens a lane's provider alone, once, whatever moves in the file around it", async () => {
    const { log, open } = recordingOpener();
    const pool = new ProviderPool(open);
    const first = await pool.providersFor('a', stateOf('eu-west-1'), 'r1');
    assert.deepEqual([...first.providers.keys()], ['a']);
    const again = await pool.providersFor('a', stateOf('eu-west-1', 7), 'r2');
    assert.equal(again, first, 'the same opening: only its source position moved');
    assert.deepEqual(log, ['open a@eu-west-1']);
  });

  it('closes and reopens a provider whose document changed; the other lane keeps its own', async () => {
    const { log, open } = recordingOpener();
    const pool = new ProviderPool(open);
    await pool.providersFor('a', stateOf('eu-west-1'), 'r1');
    await pool.providersFor('b', stateOf('eu-west-1'), 'r1');
    const reopened = await pool.providersFor(
      'a',
      { ...stateOf('eu-west-1'), providers: { ...stateOf('eu-west-1').providers, a: stateOf('eu-central-1').providers['a']! } },
      'r2',
    );
    assert.ok(reopened.providers.has('a'));
    assert.deepEqual(log, ['open a@eu-west-1', 'open b@eu-west-1', 'close a@eu-west-1', 'open a@eu-central-1']);
  });

  it('reopens every provider when the fleet id changes: a provider judges what it launched by the id it was opened with', async () => {
    const { open } = recordingOpener();
    const fleets: string[] = [];
    const pool = new ProviderPool((state) => (fleets.push(state.fleet.id), open(state)));
    await pool.providersFor('a', stateOf('eu-west-1'), 'r1');
    await pool.providersFor('a', { ...stateOf('eu-west-1'), fleet: { id: 'renamed' } } as DesiredState, 'r2');
    assert.deepEqual(fleets, ['unit', 'renamed']);
  });

  it('forgets a failed opening, so the next pass tries again', async () => {
    const fail = new Set(['a']);
    const { log, open } = recordingOpener(fail);
    const pool = new ProviderPool(open);
    const failed = await pool.providersFor('a', stateOf('eu-west-1'), 'r1');
    assert.ok(failed.errors.has('a'));
    await new Promise((resolve) => setImmediate(resolve));
    fail.clear();
    const retried = await pool.providersFor('a', stateOf('eu-west-1'), 'r1');
    assert.ok(retried.providers.has('a'));
    assert.deepEqual(log, ['open a@eu-west-1', 'open a@eu-west-1']);
  });

  it("closes one lane's provider or all of them", async () => {
    const { log, open } = recordingOpener();
    const pool = new ProviderPool(open);
    await pool.providersFor('a', stateOf('eu-west-1'), 'r1');
    await pool.providersFor('b', stateOf('eu-west-1'), 'r1');
    await pool.close('a');
    await pool.closeAll();
    assert.deepEqual(log.slice(2), ['close a@eu-west-1', 'close b@eu-west-1']);
    await pool.providersFor('a', stateOf('eu-west-1'), 'r1');
    assert.equal(log.at(-1), 'open a@eu-west-1', 'a closed provider is opened again when asked');
  });
});
