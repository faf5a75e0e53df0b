import assert from 'node:assert/strict';
describe('smoke', () => { it('runs ts', () => { const x: number = 1; assert.equal(x, 1); }); });
