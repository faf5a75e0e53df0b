/** Runs the real `bin/drover` as a child process for CLI tests. */
import { spawn } from 'node:child_process';
import { tmpdir } from 'node:os';
import path from 'node:path';

/** Runs bin/drover with `args`; resolves its exit code and output (kills it after `timeoutMs`: a hang fails the test). */
export function drover(
  args: readonly string[],
  env: Record<string, string> = {},
  timeoutMs = 60_000,
): Promise<{ code: number | null; stdout: string; stderr: string }> {
  const child = spawn(process.execPath, [path.resolve('bin/drover'), ...args], {
    env: { PATH: process.env['PATH'] ?? '', HOME: tmpdir(), NO_PROXY: '127.0.0.1,localhost', ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
  child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
  const timer = setTimeout(() => child.kill('SIGKILL'), timeoutMs);
  return new Promise((resolve) => {
    child.once('exit', (code) => {
      clearTimeout(timer);
      resolve({ code, stdout, stderr });
    });
  });
}
