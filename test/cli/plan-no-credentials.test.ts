/**
 * `drover plan` when one cloud has no credentials (issue 19 item 3): GCE with no Application
 * Default Credentials (GOOGLE_APPLICATION_CREDENTIALS names a missing file, an empty HOME, the
 * metadata server lookup turned off so nothing waits on the network). The real process: no stack
 * trace, the GCE groups reported as not planned with how to fix it, and the AWS groups planned
 * against the EC2 simulator; exit 1 as for an error.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { startEc2Simulator } from '../../providers/aws/sim.ts';
import type { Ec2Simulator } from '../../providers/aws/sim.ts';
import { DIGEST_A, groupYaml, minimalFleet, writeFleet } from '../helpers/fleet-files.ts';
import { drover } from './drover-process.ts';

const GCP_FILES = {
  'gcp.yaml': 'apiVersion: drover/v1\nkind: Provider\nmetadata: { name: gcp-prod }\nspec: { type: gcp, project: acme-prod-4821 }\n',
  'image.yaml': `apiVersion: drover/v1\nkind: Image\nmetadata: { name: web }\nspec:\n  digest: ${DIGEST_A}\n  artifacts:\n    aws-eu: { id: ami-0a1b2c3d4e5f60718 }\n    gcp-prod: { id: projects/acme-prod-4821/global/images/web-1 }\n`,
  'gcp-group.yaml':
    'apiVersion: drover/v1\nkind: VmGroup\nmetadata: { name: web-gcp }\nspec:\n  provider: gcp-prod\n  image: web\n  replicas: 2\n  machine: { type: e2-standard-2 }\n  placement: { zones: [europe-west1-b] }\n',
};

type Run = { code: number | null; stdout: string; stderr: string };

const NO_ADC = (home: string) => ({
  HOME: home,
  GOOGLE_APPLICATION_CREDENTIALS: path.join(home, 'missing-adc.json'),
  METADATA_SERVER_DETECTION: 'none',
  GCE_METADATA_HOST: '127.0.0.1:9',
});
const AWS_SIM = (sim: Ec2Simulator) => ({
  DROVER_PROVIDERS__AWS_EU__TYPE: 'aws',
  DROVER_ENDPOINT_AWS_EU: sim.url,
  AWS_ACCESS_KEY_ID: 'AKIDPLAN',
  AWS_SECRET_ACCESS_KEY: 'plan-secret',
});

// Each process spends most of its life waiting for the credential-less GCE listing to give up
// (drover retries it with backoff, ~15 s), so the four independent processes run at once, started
// in before(): the plan and the apply each against their own EC2 simulator and state directory, as
// when they ran one after another. Each test then judges its own process.
describe('drover plan with one cloud lacking credentials', function () {
  this.timeout(120_000);
  const sims: Ec2Simulator[] = [];
  const fleets: { cleanup: () => Promise<void> }[] = [];
  let home: string;
  let applySim: Ec2Simulator;
  let runs: { plan: Promise<Run>; apply: Promise<Run>; applyDemo: Promise<Run>; planDemo: Promise<Run> };

  const startSim = async () => {
    const sim = await startEc2Simulator({
      region: 'eu-west-1',
      factor: 50,
      images: [{ id: 'ami-0a1b2c3d4e5f60718', tags: { 'drover:digest': DIGEST_A } }],
    });
    sims.push(sim);
    return sim;
  };
  const gcpFleet = async () => {
    const fleet = await writeFleet({ ...minimalFleet({ group: groupYaml('', 2) }), ...GCP_FILES });
    fleets.push(fleet);
    return fleet.dir;
  };

  before(async () => {
    home = mkdtempSync(path.join(tmpdir(), 'drover-nocreds-'));
    const planSim = await startSim();
    applySim = await startSim();
    const [planDir, applyDir] = [await gcpFleet(), await gcpFleet()];
    runs = {
      plan: drover(
        ['plan', planDir, '--no-probes', '--state-dir', path.join(home, 'state')],
        { ...NO_ADC(home), ...AWS_SIM(planSim) },
        90_000,
      ),
      apply: drover(
        ['apply', applyDir, '--no-probes', '--timeout', '8s', '--interval', '1s', '--state-dir', path.join(home, 'apply')],
        { ...NO_ADC(home), ...AWS_SIM(applySim) },
        90_000,
      ),
      applyDemo: drover(
        ['apply', 'fixtures/demo', '--timeout', '10m', '--interval', '1s', '--state-dir', path.join(home, 'demo')],
        { ...NO_ADC(home), AWS_EC2_METADATA_DISABLED: 'true' },
        90_000,
      ),
      planDemo: drover(
        ['plan', 'fixtures/demo', '--state-dir', path.join(home, 'plan-demo')],
        { HOME: home, AWS_EC2_METADATA_DISABLED: 'true' },
        90_000,
      ),
    };
  });
  after(async () => {
    if (runs !== undefined) await Promise.all(Object.values(runs));
    for (const sim of sims) await sim.close();
    for (const fleet of fleets) await fleet.cleanup();
    rmSync(home, { recursive: true, force: true });
  });

  it('reports the GCE group with how to fix it and still plans the AWS group; exit 1', async () => {
    const { code, stdout, stderr } = await runs.plan;
    assert.equal(code, 1, stderr);
    assert.doesNotMatch(stderr, /^\s+at /m, 'no stack trace');
    assert.match(stdout, /^provider aws-eu: 0 instances observed$/m);
    assert.match(stdout, /^ {2}\+ create web-/m, 'the AWS group is planned');
    assert.match(stdout, /^provider gcp-prod: not observed: /m);
    assert.match(
      stdout,
      /^ {2}fix: give drover Google Application Default Credentials .*GOOGLE_APPLICATION_CREDENTIALS.*providers\.gcp-prod\.credentials\.keyFile.*drover sim.*--config/m,
    );
    assert.match(stdout, /^group web-gcp: not planned/m);
    assert.match(stdout, /^plan: 2 to create, 0 to delete, 1 group not planned$/m);
  });

  it('apply converges the AWS group and reports the GCE group; no stack trace, exit 1', async () => {
    const { code, stdout, stderr } = await runs.apply;
    assert.equal(code, 1, stderr);
    assert.doesNotMatch(stderr, /^\s+at /m, 'no stack trace');
    assert.match(stdout, /web-gcp: not planned/);
    assert.equal(
      applySim.world.list().filter((i) => i.state === 'running' || i.state === 'pending').length,
      2,
      'the AWS group was created',
    );
  });

  it('apply of the demo fleet with no credentials at all stops after the pass that finds a stalled group (ProviderNotBound), exit 1, instead of running to --timeout', async () => {
    const { code, stdout, stderr } = await runs.applyDemo;
    assert.equal(code, 1, stderr + stdout);
    assert.equal(stdout.split('\n').filter((l) => l.startsWith('pass ')).length, 1, stdout);
    assert.match(stdout, /^apply: 1 pass, /m);
    assert.match(stdout, /^ {2}worker-lab: not planned \(ProviderNotBound\): provider pve-lab: .*providers\.pve-lab/m);
    assert.match(stdout, /^apply: stalled: [2-7] groups need a change in Git or in the cloud account/m);
  });

  it('plan of the demo fleet with no credentials at all: no placement check for groups already not planned, no free-text Node warning', async () => {
    const { code, stdout, stderr } = await runs.planDemo;
    assert.equal(code, 1, stderr + stdout);
    assert.match(stdout, /^group web-eu: not planned \(CredentialsProviderError\)/m);
    assert.doesNotMatch(stdout, /launches would fail/);
    assert.doesNotMatch(stderr, /MetadataLookupWarning|trace-warnings/);
  });
});
