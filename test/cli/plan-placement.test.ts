/**
 * `drover plan` reads each AWS subnet's zone (DescribeSubnets) and reports a subnet that EC2 would
 * refuse for its zone: exit 1, a line naming group, subnet and zones; nothing launched.
 */
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import path from 'node:path';
import { promisify } from 'node:util';
import { startEc2Simulator, type Ec2Simulator } from '../../providers/aws/sim.ts';
import { TAG } from '../../providers/aws/tags.ts';
import { writeFleet } from '../helpers/fleet-files.ts';

const run = promisify(execFile);
const DIGEST = `sha256:${'7'.repeat(64)}`;
const AMI = 'ami-0a1b2c3d4e5f60718';

const FLEET = `apiVersion: drover/v1
kind: Fleet
metadata: { name: cli-test }
---
apiVersion: drover/v1
kind: Provider
metadata: { name: aws-eu }
spec: { type: aws, region: eu-west-1 }
---
apiVersion: drover/v1
kind: Image
metadata: { name: web }
spec:
  digest: ${DIGEST}
  artifacts: { aws-eu: { id: ${AMI} } }
---
apiVersion: drover/v1
kind: VmGroup
metadata: { name: web }
spec:
  provider: aws-eu
  image: web
  replicas: 2
  machine: { type: t3.small }
  placement:
    subnets: { eu-west-1a: subnet-0123456789abcdef0, eu-west-1b: subnet-0123456789abcdef1 }
`;

describe('drover plan: AWS subnets checked against their zones', function () {
  this.timeout(60_000);
  let sim: Ec2Simulator | undefined;
  let cleanup: (() => Promise<void>) | undefined;
  afterEach(async () => {
    await sim?.close();
    await cleanup?.();
  });

  async function plan(subnets: Record<string, string>): Promise<{ code: number; stdout: string }> {
    sim = await startEc2Simulator({ region: 'eu-west-1', factor: 500, subnets, images: [{ id: AMI, tags: { [TAG.digest]: DIGEST } }] });
    const fleet = await writeFleet({ 'fleet.yaml': FLEET });
    cleanup = fleet.cleanup;
    const env = {
      PATH: process.env['PATH'] ?? '',
      DROVER_PROVIDERS__AWS_EU__TYPE: 'aws',
      DROVER_ENDPOINT_AWS_EU: sim.url,
      AWS_ACCESS_KEY_ID: 'drover-sim',
      AWS_SECRET_ACCESS_KEY: 'drover-sim',
      AWS_REGION: 'eu-west-1',
    };
    try {
      const { stdout } = await run(
        process.execPath,
        [path.resolve('bin/drover'), 'plan', fleet.dir, '--state-dir', path.join(fleet.dir, '.state')],
        { env, timeout: 50_000 },
      );
      return { code: 0, stdout };
    } catch (error) {
      const e = error as { code: number; stdout: string };
      return { code: e.code, stdout: e.stdout };
    }
  }

  it('a subnet in another zone: exit 1 with the group, subnet and zones; nothing launched', async () => {
    const out = await plan({ 'subnet-0123456789abcdef0': 'eu-west-1a', 'subnet-0123456789abcdef1': 'eu-west-1c' });
    assert.equal(out.code, 1, out.stdout);
    assert.match(
      out.stdout,
      /group web: launches would fail \(SubnetZoneMismatch\): subnet subnet-0123456789abcdef1 is in availability zone eu-west-1c, not eu-west-1b/,
    );
    // The summary is the last line and counts the group whose launches would fail; its block does
    // not say it needs no human action.
    assert.match(out.stdout, /\nplan: 2 to create, 0 to delete, 0 groups not planned, 1 group would fail\n$/, out.stdout);
    assert.doesNotMatch(out.stdout, /NotStalled/, out.stdout);
    assert.match(out.stdout, /Stalled=True SubnetZoneMismatch/, out.stdout);
    assert.equal(sim!.engine.world.all().length, 0);
  });

  it('subnets in their zones: the plan is an ordinary one (exit 2, creates)', async () => {
    const out = await plan({ 'subnet-0123456789abcdef0': 'eu-west-1a', 'subnet-0123456789abcdef1': 'eu-west-1b' });
    assert.equal(out.code, 2, out.stdout);
    assert.doesNotMatch(out.stdout, /would fail/);
  });
});
