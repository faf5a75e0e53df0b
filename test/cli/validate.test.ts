import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { readdirSync } from 'node:fs';
import path from 'node:path';
import { promisify } from 'node:util';
import { groupYaml, minimalFleet, writeFleet } from '../helpers/fleet-files.ts';
import { droverInProcess } from './drover-in-process.ts';

const run = promisify(execFile);
const bin = path.resolve('bin/drover');

async function drover(...args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  try {
    const { stdout, stderr } = await run(process.execPath, [bin, ...args]);
    return { code: 0, stdout, stderr };
  } catch (error) {
    const e = error as { code: number; stdout: string; stderr: string };
    return { code: e.code, stdout: e.stdout, stderr: e.stderr };
  }
}

describe('drover validate', () => {
  it('exits 0 on the demo fleet and lists groups, providers and images', async () => {
    const r = await drover('validate', 'fixtures/demo');
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stdout, /fixtures\/demo: valid: fleet acme-demo, 4 providers, 3 images, 7 groups/);
    for (const name of ['web-eu', 'web-gcp', 'api-eu', 'api-azure', 'worker-eu', 'worker-lab', 'web-lab', 'pve-lab', 'worker']) {
      assert.match(r.stdout, new RegExp(`\\b${name}\\b`));
    }
  });

  it("applies the daemon's default instance cap (10,000), and --max-instances", async () => {
    const groups = Array.from({ length: 11 }, (_, i) => groupYaml('', 1000, `g${i}`)).join('---\n');
    const fleet = await writeFleet(minimalFleet({ group: groups }));
    try {
      const over = await drover('validate', fleet.dir);
      assert.equal(over.code, 1, over.stdout);
      assert.match(
        over.stdout,
        /^group\.yaml:\d+:\d+: the fleet asks for 11000 instances in total \(11 groups; largest g0 with 1000\), over the operator's cap limits\.maxInstances = 10000/m,
      );
      assert.equal((await drover('validate', fleet.dir, '--max-instances', '11000')).code, 0);
      const low = await drover('validate', fleet.dir, '--max-instances', '10999');
      assert.equal(low.code, 1);
      const bad = await drover('validate', fleet.dir, '--max-instances', 'lots');
      assert.equal(bad.code, 2);
      assert.match(bad.stderr, /--max-instances must be an integer from 0 to 10000000, got 'lots'/);
    } finally {
      await fleet.cleanup();
    }
  });

  it("applies the daemon's default Provider cap (32), and --max-providers", async () => {
    const providers = Array.from(
      { length: 33 },
      (_, i) => `apiVersion: drover/v1\nkind: Provider\nmetadata: { name: extra-${i} }\nspec: { type: aws, region: eu-west-1 }\n`,
    ).join('---\n');
    const fleet = await writeFleet({ ...minimalFleet(), 'providers-many.yaml': providers });
    try {
      const over = await drover('validate', fleet.dir);
      assert.equal(over.code, 1, over.stdout);
      assert.match(
        over.stdout,
        /^providers-many\.yaml:\d+:\d+: the fleet declares 34 Provider documents, over the operator's cap limits\.maxProviders = 32/m,
      );
      assert.equal((await drover('validate', fleet.dir, '--max-providers', '34')).code, 0);
      const low = await drover('validate', fleet.dir, '--max-providers', '33');
      assert.equal(low.code, 1);
      assert.match(low.stdout, /34 Provider documents.*limits\.maxProviders = 33.*--max-providers/);
      const bad = await drover('validate', fleet.dir, '--max-providers', '0');
      assert.equal(bad.code, 2);
      assert.match(bad.stderr, /--max-providers must be an integer from 1 to 10000, got '0'/);
    } finally {
      await fleet.cleanup();
    }
  });

  it('--json gives a machine-readable report', async () => {
    const r = await drover('validate', 'fixtures/demo', '--json');
    assert.equal(r.code, 0);
    const report = JSON.parse(r.stdout) as { valid: boolean; groups: { name: string; templateHash: string }[] };
    assert.equal(report.valid, true);
    assert.equal(report.groups.length, 7);
    for (const g of report.groups) assert.match(g.templateHash, /^[0-9a-f]{12}$/);
  });

  it('exits 1 with the expected file:line:col for every fixtures/invalid case', async () => {
    const root = path.resolve('fixtures/invalid');
    const cases = readdirSync(root, { withFileTypes: true })
      .filter((e) => e.isDirectory())
      .map((e) => e.name);
    assert.ok(cases.length > 10, 'the fixtures are there');
    // In process (a process per case cost ~1 s each, far more on a loaded machine); the first
    // case also through bin/drover, which must print the same and exit with the same code.
    const first = path.join('fixtures/invalid', cases[0]!);
    assert.deepEqual(await drover('validate', first), await droverInProcess('validate', first));
    for (const name of cases) {
      const r = await droverInProcess('validate', path.join('fixtures/invalid', name));
      assert.equal(r.code, 1, `${name}: ${r.stderr}`);
      assert.match(r.stdout, /^[\w./<>-]+(:\d+:\d+)?: /m, name);
      assert.match(r.stdout, /invalid: \d+ problems?/, name);
    }
  });

  it('--json lists problems with positions', async () => {
    const r = await drover('validate', 'fixtures/invalid/unknown-field', '--json');
    assert.equal(r.code, 1);
    const report = JSON.parse(r.stdout) as { problems: { file: string; line: number; col: number; path: string; code: string }[] };
    assert.deepEqual(
      report.problems.map((p) => [p.file, p.line, p.col, p.path, p.code]),
      [['group.yaml', 11, 5, '/spec/rollout/maxSurg', 'schema.unknownField']],
    );
  });

  it('exits 2 for a missing directory and for an unknown flag', async () => {
    const missing = await drover('validate', 'does/not/exist');
    assert.equal(missing.code, 2);
    assert.match(missing.stderr, /fleet directory 'does\/not\/exist' does not exist/);
    const flag = await drover('validate', '--jsno');
    assert.equal(flag.code, 2);
    assert.match(flag.stderr, /unknown option '--jsno'/);
  });
});
