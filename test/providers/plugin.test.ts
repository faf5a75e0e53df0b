import assert from 'node:assert/strict';
import { definePlugin, type PluginFactory, type PluginParts } from '../../providers/plugin.ts';
import { aws } from '../../providers/aws/index.ts';
import type { Provider, ProviderContext } from '../../src/contract/provider.ts';

/** A plugin like aws's whose `load` is `load` (the module import under test). */
function fakePlugin(load: () => Promise<PluginFactory<{ tag: string }>>): ReturnType<typeof definePlugin<'aws', { tag: string }>> {
  const { open: _open, ...parts } = aws;
  return definePlugin<'aws', { tag: string }>({ ...(parts as unknown as PluginParts<'aws', { tag: string }>), load });
}

const context = {
  config: { name: 'p', type: 'aws', spec: { type: 'aws', region: 'eu-west-1' }, source: { file: 'p.yaml', line: 1, col: 1 } },
  fleet: 'f',
} as ProviderContext;

describe('definePlugin', () => {
  it('loads one module at a time: a second plugin starts loading only after the first finished', async () => {
    const events: string[] = [];
    let release!: () => void;
    const first = fakePlugin(async () => {
      events.push('first:start');
      await new Promise<void>((resolve) => (release = resolve));
      events.push('first:end');
      return async () => ({}) as Provider;
    });
    const second = fakePlugin(async () => {
      events.push('second:start');
      return async () => ({}) as Provider;
    });
    const loads = [first.load(), second.load()];
    await new Promise((resolve) => setImmediate(resolve));
    assert.deepEqual(events, ['first:start']);
    release();
    await Promise.all(loads);
    assert.deepEqual(events, ['first:start', 'first:end', 'second:start']);
  });

  it('shares one load between callers, and tries a failed load again on the next call', async () => {
    let calls = 0;
    const plugin = fakePlugin(async () => {
      calls++;
      if (calls === 1) throw new Error('broken install');
      return async () => ({}) as Provider;
    });
    const failed = plugin.load();
    assert.equal(plugin.load(), failed);
    await assert.rejects(failed, /broken install/);
    const again = plugin.load();
    await again;
    assert.equal(plugin.load(), again);
    assert.equal(calls, 2);
  });

  it('open builds with the loaded factory, passing the context and options through', async () => {
    const seen: unknown[] = [];
    const provider = { name: 'built' } as Provider;
    const plugin = fakePlugin(async () => async (ctx, options) => {
      seen.push(ctx, options);
      return provider;
    });
    assert.equal(await plugin.open(context, { tag: 'x' }), provider);
    assert.deepEqual(seen, [context, { tag: 'x' }]);
  });
});
