import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';

const root = fileURLToPath(new URL('../../', import.meta.url));

/** What each cloud's heavy module loads: its SDK (Proxmox: undici, the PVE client's transport). */
const HEAVY: Readonly<Record<string, RegExp>> = {
  aws: /\/node_modules\/@aws-sdk\/client-ec2\//,
  gcp: /\/node_modules\/@google-cloud\/compute\//,
  azure: /\/node_modules\/@azure\/(arm-compute|arm-network|identity)\//,
  proxmox: /\/node_modules\/undici\//,
};
/** A cloud simulator: its entry, its starter, its modules (providers/<kind>/sim/), or the shared engine. */
const SIMULATOR = /\/providers\/[a-z]+\/(sim\.ts|sim-start\.ts|sim\/)|\/src\/sim\//;

/**
 * In a fresh process, records every module resolved (ESM import and CommonJS require alike) while
 * importing the registry and the fleet loader, then while loading each plugin's factory.
 */
const SCRIPT = `
import { registerHooks } from 'node:module';
const seen = [];
registerHooks({ resolve(specifier, context, next) { const r = next(specifier, context); seen.push(r.url); return r; } });
const { providerPlugins } = await import(${JSON.stringify(new URL('providers/registry.ts', `file://${root}`).href)});
await import(${JSON.stringify(new URL('src/desired/load.ts', `file://${root}`).href)});
const atImport = [...seen];
const loaded = {};
for (const plugin of providerPlugins) {
  const before = seen.length;
  await plugin.load();
  loaded[plugin.type] = seen.slice(before);
}
process.stdout.write(JSON.stringify({ atImport, loaded }));
`;

describe('provider plugins stay light', () => {
  it('importing the registry and the fleet loader loads no cloud SDK and no simulator; each plugin loads its own on first open', async function () {
    this.timeout(60_000);
    const { stdout } = await promisify(execFile)(process.execPath, ['--input-type=module', '-e', SCRIPT], {
      cwd: root,
      maxBuffer: 64 * 1024 * 1024,
    });
    const { atImport, loaded } = JSON.parse(stdout) as { atImport: string[]; loaded: Record<string, string[]> };
    assert.ok(
      atImport.some((url) => url.endsWith('/providers/aws/group-checks.ts')),
      'the hook saw the plugins being imported',
    );
    for (const [type, heavy] of Object.entries(HEAVY)) {
      assert.deepEqual(
        atImport.filter((url) => heavy.test(url)),
        [],
        `${type}'s SDK loaded at import`,
      );
      assert.ok(
        loaded[type]?.some((url) => heavy.test(url)),
        `${type}'s load() did not load its SDK`,
      );
    }
    assert.deepEqual(
      atImport.filter((url) => SIMULATOR.test(url)),
      [],
    );
  });
});
