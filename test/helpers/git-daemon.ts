/**
 * The real `drover run` process following a real Git repository against the EC2 simulator, as the
 * end-to-end suites of the daemon set it up (notifications, metrics, stalled and held groups): a
 * scratch directory, a repository with the first commit, a simulator serving the suite's images,
 * and the daemon bound to it (provider `aws-eu`) with short Git, progress and resync intervals.
 * A suite adds its own variables (sinks, forges, limits) and closes everything with `close()`.
 */
import path from 'node:path';
import { startEc2Simulator } from '../../providers/aws/sim.ts';
import type { Ec2Simulator, Ec2SimulatorOptions } from '../../providers/aws/sim.ts';
import { TAG } from '../../providers/aws/tags.ts';
import { aws } from '../clouds/aws.ts';
import { tempDir, TestRepo } from '../source/helpers.ts';
import { startDaemon } from './daemon-process.ts';
import type { DaemonProcess } from './daemon-process.ts';

/** The Provider document's name the daemon is bound to. */
export const GIT_DAEMON_PROVIDER = 'aws-eu';

/** What a suite's daemon follows and runs against. */
export interface GitDaemonOptions {
  /** Scratch directory prefix (`drover-<suite>-`). */
  readonly prefix: string;
  /** The first commit's files and message. */
  readonly files: Record<string, string>;
  readonly message: string;
  /** Images the simulator serves: AMI id → digest. */
  readonly images: Readonly<Record<string, string>>;
  /** Simulator options (default factor 200, region eu-west-1). */
  readonly sim?: Omit<Ec2SimulatorOptions, 'region'>;
  /** Called on the simulator before the daemon starts (faults). */
  readonly prepare?: (sim: Ec2Simulator) => void;
  /** Resync interval (default 500ms). */
  readonly resync?: string;
  /** More DROVER_* variables (and the secrets they name); they win over the defaults. */
  readonly env?: Readonly<Record<string, string>>;
}

/** A running daemon with its repository and simulator. */
export interface GitDaemon {
  readonly tmp: { path: string; cleanup: () => void };
  readonly repo: TestRepo;
  readonly sim: Ec2Simulator;
  /** The first commit. */
  readonly first: string;
  /** The process (a test may stop it; close() then only cleans up). */
  readonly daemon: DaemonProcess;
  /** Kills the daemon (a no-op once it exited), closes the simulator, removes the scratch directory. */
  close(): Promise<void>;
}

/** Starts the repository, the simulator and the daemon; on failure closes what was started. */
export async function startGitDaemon(options: GitDaemonOptions): Promise<GitDaemon> {
  const tmp = tempDir(options.prefix);
  let sim: Ec2Simulator | undefined;
  try {
    const repo = new TestRepo(tmp.path);
    const first = repo.commit(options.files, options.message);
    sim = await startEc2Simulator({ factor: 200, ...options.sim, region: 'eu-west-1' });
    for (const [id, digest] of Object.entries(options.images)) sim.addImage({ id, tags: { [TAG.digest]: digest } });
    options.prepare?.(sim);
    const daemon = await startDaemon(
      {
        DROVER_SOURCE__GIT__URL: repo.url,
        DROVER_SOURCE__GIT__INTERVAL: '300ms',
        DROVER_STATE_DIR: path.join(tmp.path, 'state'),
        ...aws.daemonEnv(sim, GIT_DAEMON_PROVIDER, tmp.path),
        DROVER_PROGRESS_INTERVAL: '200ms',
        DROVER_RESYNC_INTERVAL: options.resync ?? '500ms',
        ...options.env,
      },
      'unused-token',
    );
    const started = sim;
    return {
      tmp,
      repo,
      sim: started,
      first,
      daemon,
      async close() {
        await daemon.kill();
        await started.close();
        tmp.cleanup();
      },
    };
  } catch (error) {
    await sim?.close();
    tmp.cleanup();
    throw error;
  }
}
