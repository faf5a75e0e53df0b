/**
 * The smaller first-hour mends of issue 19 item 7, each through the real `bin/drover` process:
 * --version, `run` with nothing to follow and `run --no-probes`, `validate` naming the directory it
 * read, and DROVER_ENDPOINT_* / --endpoint that name no provider of the fleet.
 */
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { startEc2Simulator } from '../../providers/aws/sim.ts';
import type { Ec2Simulator } from '../../providers/aws/sim.ts';
import { DIGEST_A, minimalFleet, writeFleet } from '../helpers/fleet-files.ts';
import { drover } from './drover-process.ts';

describe('drover: first-hour mends', function () {
  this.timeout(120_000);
  let tmp: string;
  before(() => {
    tmp = mkdtempSync(path.join(tmpdir(), 'drover-first-hour-'));
  });
  after(() => rmSync(tmp, { recursive: true, force: true }));

  it('--version prints the package version', async () => {
    const { code, stdout } = await drover(['--version']);
    assert.equal(code, 0);
    assert.equal(stdout.trim(), (JSON.parse(readFileSync('package.json', 'utf8')) as { version: string }).version);
  });

  it('run with nothing to follow says how to start: --config, --dir or --git', async () => {
    const { code, stderr } = await drover(['run', '--listen', '127.0.0.1:0'], { DROVER_STATE_DIR: path.join(tmp, 'unused') });
    assert.equal(code, 1);
    assert.match(stderr, /^drover run: nothing to follow: .*--config FILE.*--dir DIR.*--git URL/);
    assert.doesNotMatch(stderr, /missing required field/);
  });

  // One `run --dir fixtures/demo --no-probes` process serves both checks below (each used to start
  // its own, and a SIGTERM waits for the demo's credential-less GCE listing to give up, ~15 s).
  describe('run --dir fixtures/demo --no-probes, with a DROVER_ENDPOINT_* that names no provider, until SIGTERM', () => {
    let out = '';
    let code: number | null;
    before(async () => {
      const child = spawn(
        process.execPath,
        [
          path.resolve('bin/drover'),
          'run',
          '--dir',
          'fixtures/demo',
          '--listen',
          '127.0.0.1:0',
          '--no-probes',
          '--state-dir',
          path.join(tmp, 'probes'),
        ],
        {
          env: {
            PATH: process.env['PATH'] ?? '',
            HOME: tmp,
            AWS_EC2_METADATA_DISABLED: 'true',
            METADATA_SERVER_DETECTION: 'none',
            DROVER_ENDPOINT_PVELAB: 'https://127.0.0.1:1',
          },
          stdio: ['ignore', 'pipe', 'pipe'],
        },
      );
      child.stdout.on('data', (d: Buffer) => (out += d.toString()));
      const exited = new Promise<number | null>((resolve) => child.once('exit', resolve));
      const deadline = Date.now() + 60_000;
      while (!(out.includes('msg":"listening') && out.includes('names no provider')) && Date.now() < deadline)
        await new Promise((r) => setTimeout(r, 100));
      child.kill('SIGTERM');
      code = await exited;
    });

    it('run --no-probes turns probes off (health.probes: false) and stops with exit 0 on SIGTERM', () => {
      assert.equal(code, 0, out);
      assert.match(out, /health probes are OFF/);
    });

    it('run warns, naming the variable, about a DROVER_ENDPOINT_* that names no provider of the revision', () => {
      const line = out.split('\n').find((l) => l.includes('names no provider'));
      assert.ok(line, out);
      const fields = JSON.parse(line) as { variable: string; applicable: string[] };
      assert.equal(fields.variable, 'DROVER_ENDPOINT_PVELAB');
      assert.ok(fields.applicable.includes('DROVER_ENDPOINT_PVE_LAB'));
    });
  });

  it('validate without a directory names the directory it read', async () => {
    const { stderr } = await drover(['validate']);
    assert.match(stderr, new RegExp(`^drover validate: reading the current directory \\(${process.cwd().replace(/[/.]/g, '\\$&')}\\)`));
  });

  describe('provider variables and flags that name no provider', () => {
    let sim: Ec2Simulator;
    before(async () => {
      sim = await startEc2Simulator({
        region: 'eu-west-1',
        factor: 50,
        images: [{ id: 'ami-0a1b2c3d4e5f60718', tags: { 'drover:digest': DIGEST_A } }],
      });
    });
    after(async () => sim.close());

    it('a mistyped DROVER_ENDPOINT_* or DROVER_CA_FILE_* is warned about, naming the variables that apply', async () => {
      const fleet = await writeFleet(minimalFleet());
      try {
        const { code, stderr } = await drover(['plan', fleet.dir, '--no-probes', '--state-dir', path.join(tmp, 'plan')], {
          DROVER_PROVIDERS__AWS_EU__TYPE: 'aws',
          DROVER_ENDPOINT_AWS_EU: sim.url,
          DROVER_ENDPOINT_PVELAB: 'https://127.0.0.1:1',
          DROVER_CA_FILE_AWSEU: '/nonexistent.pem',
          AWS_ACCESS_KEY_ID: 'AKIDX',
          AWS_SECRET_ACCESS_KEY: 'x',
        });
        assert.equal(code, 2, stderr);
        assert.match(
          stderr,
          /^drover: warning: DROVER_CA_FILE_AWSEU names no provider of this fleet and is ignored; the fleet's providers take DROVER_CA_FILE_AWS_EU$/m,
        );
        assert.match(
          stderr,
          /^drover: warning: DROVER_ENDPOINT_PVELAB names no provider of this fleet and is ignored; the fleet's providers take DROVER_ENDPOINT_AWS_EU$/m,
        );
      } finally {
        await fleet.cleanup();
      }
    });

    it('--endpoint for a provider the fleet does not have is a usage error', async () => {
      const fleet = await writeFleet(minimalFleet());
      try {
        const { code, stderr } = await drover(['plan', fleet.dir, '--endpoint', `pve-lab=${sim.url}`]);
        assert.equal(code, 1);
        assert.match(stderr, /^drover: --endpoint pve-lab=…: this fleet has no provider pve-lab \(its providers: aws-eu\)/);
      } finally {
        await fleet.cleanup();
      }
    });
  });
});
