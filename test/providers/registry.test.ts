import assert from 'node:assert/strict';
import { readdir } from 'node:fs/promises';
import { fileURLToPath } from 'node:url';
import { loadProviderFactory, providerFactory, registeredProviderTypes, UnknownProviderTypeError } from '../../providers/registry.ts';

const providersDir = fileURLToPath(new URL('../../providers/', import.meta.url));

describe('provider registry', () => {
  it('registers exactly the provider folders that exist', async () => {
    const entries = await readdir(providersDir, { withFileTypes: true });
    const folders = entries.filter((e) => e.isDirectory()).map((e) => e.name).sort();
    assert.deepEqual(registeredProviderTypes().sort(), folders);
  });

  it('loads each factory lazily and refuses unknown types', async () => {
    for (const type of registeredProviderTypes()) assert.equal(typeof (await loadProviderFactory(type)), 'function');
    assert.equal(await providerFactory('gcp'), undefined);
    await assert.rejects(loadProviderFactory('gcp'), UnknownProviderTypeError);
  });
});
