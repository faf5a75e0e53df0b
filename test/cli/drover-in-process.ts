/**
 * The CLI (`main`, which bin/drover calls with argv and whose result becomes the exit code) run in
 * this process with stdout and stderr captured: no Node start-up per call, for loops over many
 * cases (validate's fixtures/invalid, which checks one case against the real process too; diff's
 * goldens and errors).
 */
import { main } from '../../src/cli/main.ts';

/** Runs `drover <args>` in process; resolves its exit code and output. */
export async function droverInProcess(...args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  const out = { stdout: '', stderr: '' };
  const writes = { stdout: process.stdout.write, stderr: process.stderr.write };
  const capture = (stream: 'stdout' | 'stderr') =>
    ((chunk: string | Uint8Array) => {
      out[stream] += typeof chunk === 'string' ? chunk : Buffer.from(chunk).toString();
      return true;
    }) as typeof process.stdout.write;
  process.stdout.write = capture('stdout');
  process.stderr.write = capture('stderr');
  try {
    return { code: await main(args), ...out };
  } finally {
    process.stdout.write = writes.stdout;
    process.stderr.write = writes.stderr;
  }
}
