/**
 * Not a test: times a digest-bump rollout of the real daemon against the EC2 simulator with no
 * sink, and with a sink that never answers plus one that answers 500 (and a forge that hangs).
 * `node test/notify/measure-hanging.ts` prints the wall time from commit to success per run.
 */
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { startEc2Simulator } from '../../providers/aws/sim.ts';
import { TAG } from '../../providers/aws/tags.ts';
import { aws } from '../clouds/aws.ts';
import { startDaemon } from '../helpers/daemon-process.ts';
import type { DaemonStatus } from '../helpers/daemon-process.ts';
import { tempDir, TestRepo } from '../source/helpers.ts';
import { startRecordingServer } from './recording-server.ts';

const AMI = (n: number) => `ami-0d0d0d0d0d0d0d0d${n}`;
const DIGEST = (n: number) => `sha256:${String(n).repeat(64)}`;
const fleet = (n: number) =>
  [
    'apiVersion: drover/v1\nkind: Fleet\nmetadata: { name: measure }\n',
    'apiVersion: drover/v1\nkind: Provider\nmetadata: { name: aws-eu }\nspec: { type: aws, region: eu-west-1 }\n',
    `apiVersion: drover/v1\nkind: Image\nmetadata: { name: web }\nspec:\n  digest: ${DIGEST(n)}\n  artifacts: { aws-eu: { id: ${AMI(n)} } }\n`,
    'apiVersion: drover/v1\nkind: VmGroup\nmetadata: { name: web }\nspec:\n  provider: aws-eu\n  image: web\n  replicas: 4\n  machine: { type: t3.small }\n  placement: { zones: [eu-west-1a] }\n  rollout: { maxSurge: 1, maxUnavailable: 0, minReadySeconds: 0 }\n',
  ].join('---\n');

const converged = (s: DaemonStatus, revision: string) =>
  s.groups.some(
    (g) =>
      g.lastAttemptedRevision === revision &&
      g.conditions.some((c) => c.type === 'Progressing' && c.status === 'False' && c.reason === 'Converged'),
  );

async function run(hostile: boolean): Promise<number> {
  const tmp = tempDir('drover-measure-');
  const repo = new TestRepo(tmp.path);
  const first = repo.commit({ 'fleet.yaml': fleet(1) }, 'build 1');
  const sim = await startEc2Simulator({ region: 'eu-west-1', factor: 200 });
  for (const n of [1, 2]) sim.addImage({ id: AMI(n), tags: { [TAG.digest]: DIGEST(n) } });
  const hang = await startRecordingServer();
  hang.answer('hang');
  const fail = await startRecordingServer();
  fail.answer(500);
  const env: Record<string, string> = {
    DROVER_SOURCE__GIT__URL: repo.url,
    DROVER_SOURCE__GIT__INTERVAL: '200ms',
    DROVER_STATE_DIR: path.join(tmp.path, 'state'),
    ...aws.daemonEnv(sim, 'aws-eu', tmp.path),
    DROVER_PROGRESS_INTERVAL: '200ms',
    DROVER_RESYNC_INTERVAL: '500ms',
  };
  if (hostile)
    Object.assign(env, {
      DROVER_NOTIFICATIONS__SINKS: `[{name: hang, type: webhook, url: "${hang.url}", timeout: 1h}, {name: fail, type: webhook, url: "${fail.url}"}]`,
      DROVER_COMMIT_STATUS__FORGE: 'github',
      DROVER_COMMIT_STATUS__REPOSITORY: 'a/b',
      DROVER_COMMIT_STATUS__BASE_URL: hang.url,
      DROVER_COMMIT_STATUS__TOKEN_ENV: 'T',
      DROVER_COMMIT_STATUS__TIMEOUT: '1h',
      T: 't',
    });
  const daemon = await startDaemon(env, 'x');
  try {
    await daemon.waitForStatus((s) => converged(s, first), 60_000);
    const started = performance.now();
    const sha = repo.commit({ 'fleet.yaml': fleet(2) }, 'build 2');
    await daemon.waitForStatus((s) => converged(s, sha), 60_000);
    return performance.now() - started;
  } finally {
    await daemon.kill();
    await sim.close();
    await hang.close();
    await fail.close();
    tmp.cleanup();
    await sleep(100);
  }
}

for (let i = 0; i < 3; i++) {
  for (const hostile of [false, true])
    console.log(`${hostile ? 'hanging+500 sinks, hanging forge' : 'no sink'}: ${Math.round(await run(hostile))} ms`);
}
