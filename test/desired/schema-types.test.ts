import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { renderSchemaTypes, SCHEMA_TYPES_FILE } from '../../fixtures/generate-schema-types.ts';

describe('schema types', () => {
  it('src/contract/schema-types.ts is what the schemas generate (run `npm run gen:types` after editing a schema)', async function () {
    this.timeout(60_000);
    assert.equal(readFileSync(SCHEMA_TYPES_FILE, 'utf8'), await renderSchemaTypes());
  });
});
