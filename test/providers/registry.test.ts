import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { readdir, readFile } from 'node:fs/promises';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import type { ProviderPlugin } from '../../providers/plugin.ts';
import {
  loadProviderFactory,
  providerFactory,
  providerPlugin,
  registeredProviderTypes,
  UnknownProviderTypeError,
} from '../../providers/registry.ts';

const providersDir = fileURLToPath(new URL('../../providers/', import.meta.url));

/** A schema of the fleet or config format, parsed. */
async function schema(name: string): Promise<unknown> {
  return JSON.parse(await readFile(new URL(`../../schemas/${name}`, import.meta.url), 'utf8'));
}

/** The provider types of the fleet format: the `type` of each Provider spec variant in the schema. */
async function specTypes(): Promise<string[]> {
  const provider = (await schema('provider.schema.json')) as {
    properties: { spec: { oneOf: { $ref: string }[] } };
    $defs: Record<string, { properties: { type: { const: string } } }>;
  };
  return provider.properties.spec.oneOf.map((variant) => provider.$defs[variant.$ref.replace('#/$defs/', '')]!.properties.type.const);
}

async function providerFolders(): Promise<string[]> {
  const entries = await readdir(providersDir, { withFileTypes: true });
  return entries
    .filter((e) => e.isDirectory())
    .map((e) => e.name)
    .sort();
}

describe('provider registry', () => {
  it('registers exactly the provider folders that have an implementation (index.ts)', async () => {
    const implemented = (await providerFolders()).filter((name) => existsSync(path.join(providersDir, name, 'index.ts')));
    assert.deepEqual(registeredProviderTypes().sort(), implemented);
  });

  it("lists each folder's own plugin: index.ts exports one plugin whose type is the folder name", async () => {
    for (const type of registeredProviderTypes()) {
      const exported = Object.values(await import(`../../providers/${type}/index.ts`)) as ProviderPlugin[];
      assert.equal(exported.length, 1, `providers/${type}/index.ts exports one plugin`);
      assert.equal(exported[0], providerPlugin(type), `the registry's ${type} entry is providers/${type}/index.ts's plugin`);
      assert.equal(exported[0]!.type, type);
    }
  });

  it('is the list of types of the fleet and config formats: Provider spec variants, binding types', async () => {
    const config = (await schema('config.schema.json')) as { $defs: { providerBinding: { properties: { type: { enum: string[] } } } } };
    assert.deepEqual(await specTypes(), registeredProviderTypes());
    assert.deepEqual(config.$defs.providerBinding.properties.type.enum, registeredProviderTypes());
  });

  it('has no provider folder for a type the fleet format does not know (a folder still without index.ts holds only its simulator)', async () => {
    const known = await specTypes();
    for (const name of await providerFolders())
      assert.ok(known.includes(name), `providers/${name} is not a provider type of schemas/provider.schema.json`);
  });

  it('loads each factory lazily and refuses unknown types', async () => {
    for (const type of registeredProviderTypes()) assert.equal(typeof (await loadProviderFactory(type)), 'function');
    assert.equal(await providerFactory('openstack' as never), undefined);
    await assert.rejects(loadProviderFactory('openstack' as never), UnknownProviderTypeError);
  });

  it('loads a module once: later callers share the first load', () => {
    assert.equal(loadProviderFactory('aws'), loadProviderFactory('aws'));
  });
});
