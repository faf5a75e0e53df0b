/**
 * Runs git through simple-git with the source's minimal environment, a hard time budget (abort →
 * kill → FetchTimeout) and redacted errors. Arguments are passed as an argv array (no shell), and
 * every argument drover builds from user input was validated by safety.ts first.
 */
import { GitPluginError, simpleGit } from 'simple-git';
import type { SimpleGitOptions } from 'simple-git';
import { FetchTimeout } from './errors.ts';
import type { GitEnvironment } from './git-env.ts';
import type { Redactor } from './redact.ts';

/** A git command exited non-zero. Internal: callers turn it into a typed SourceError. */
export class GitExit extends Error {
  readonly exitCode: number;
  /** The command's stderr, redacted. */
  readonly stderr: string;

  constructor(message: string, exitCode: number, stderr = '') {
    super(message);
    this.name = 'GitExit';
    this.exitCode = exitCode;
    this.stderr = stderr;
  }
}

interface ExitRecord {
  code: number;
  stderr: string;
}

/** Options of one git invocation. */
export interface RunOptions {
  /** Working directory (the bare repository for most commands). */
  readonly cwd: string;
  readonly env: GitEnvironment;
  /** Kill the process after this long and throw FetchTimeout. */
  readonly timeoutMs: number;
  /**
   * The command prints nothing on success. simple-git waits a fixed 50 ms after such processes
   * exit; GIT_TRACE=2 makes git print a trace line so completion is immediate. The trace lines are
   * removed from stderr. Only for local commands (they never see credentials).
   */
  readonly silent?: boolean;
}

const TRACE_LINE = /^\d\d:\d\d:\d\d\.\d+ \S+:\d+ +trace: .*$\n?/gm;

/** Sees every argv drover passes to git (for audits and the no-secrets-in-args test). */
export type ArgsObserver = (args: readonly string[]) => void;

/** Executes git commands; one instance per source. */
export class GitRunner {
  readonly #redactor: Redactor;
  readonly #observer: ArgsObserver | undefined;

  constructor(redactor: Redactor, observer?: ArgsObserver) {
    this.#redactor = redactor;
    this.#observer = observer;
  }

  /** Runs `git <args>` and returns stdout; throws GitExit (redacted) or FetchTimeout. */
  async run(args: readonly string[], options: RunOptions): Promise<string> {
    return (await this.runDetailed(args, options)).stdout;
  }

  /** Like {@link run}, also returning stderr (where e.g. `verify-commit --raw` reports). */
  async runDetailed(args: readonly string[], options: RunOptions): Promise<{ stdout: string; stderr: string }> {
    this.#observer?.([...args]);
    const controller = new AbortController();
    const timer = setTimeout(() => controller.abort(), options.timeoutMs);
    const exit: ExitRecord = { code: 0, stderr: '' };
    try {
      const stdout = await simpleGit(this.#options(options, controller.signal, exit))
        .env(options.silent === true ? { ...options.env.env, GIT_TRACE: '2' } : { ...options.env.env })
        .raw([...args]);
      return { stdout, stderr: exit.stderr };
    } catch (error) {
      throw this.#translate(error, args, options.timeoutMs, controller.signal.aborted, exit);
    } finally {
      clearTimeout(timer);
    }
  }

  #options(options: RunOptions, signal: AbortSignal, exit: ExitRecord): Partial<SimpleGitOptions> {
    return {
      baseDir: options.cwd,
      binary: 'git',
      maxConcurrentProcesses: 4,
      // Resolve on the 'close' event only (the default also waits 50 ms after 'exit').
      completion: { onClose: true, onExit: false },
      abort: signal,
      allowEnvironment: [...options.env.allowEnvironment, 'GIT_TRACE'],
      // drover sets these itself (protocol allow-list, askpass off, ssh command, fsmonitor and hooks
      // off); none is user input.
      unsafe: {
        allowUnsafeConfigEnvCount: true,
        allowUnsafeProtocolOverride: true,
        allowUnsafeSshCommand: true,
        allowUnsafeAskPass: true,
        allowUnsafeCredentialHelper: true,
        allowUnsafeFsMonitor: true,
        allowUnsafeHooksPath: true,
      },
      errors: (error, result) => {
        if (error instanceof GitPluginError) return error;
        exit.stderr = Buffer.concat(result.stdErr).toString('utf8').replace(TRACE_LINE, '').trim();
        if (result.exitCode === 0 && error === undefined) return undefined;
        exit.code = result.exitCode;
        return new GitExit(exit.stderr, result.exitCode);
      },
    };
  }

  #translate(error: unknown, args: readonly string[], timeoutMs: number, aborted: boolean, exit: ExitRecord): Error {
    const command = args.find((arg) => !arg.startsWith('-')) ?? 'git';
    if (aborted) return new FetchTimeout(`git ${command} did not finish within ${timeoutMs} ms and was killed`);
    if (exit.code !== 0) {
      const stderr = this.#redactor.redact(exit.stderr);
      return new GitExit(`git ${command} failed: ${stderr}`, exit.code, stderr);
    }
    const message = error instanceof Error ? error.message : String(error);
    return new GitExit(this.#redactor.redact(`git ${command} failed: ${message}`), -1);
  }
}
