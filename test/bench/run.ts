/**
 * `npm run bench`: runs every test/bench/*-bench.ts script one after another (never in parallel:
 * they measure time and memory) and writes their JSON lines to bench-results/latest.json.
 * `npm run bench -- loader plan` runs only the named benches.
 */
import { spawn } from 'node:child_process';
import { mkdir, readdir, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const here = path.dirname(fileURLToPath(import.meta.url));
const only = process.argv.slice(2);
const scripts = (await readdir(here))
  .filter((f) => f.endsWith('-bench.ts'))
  .sort()
  .filter((f) => only.length === 0 || only.includes(f.replace(/-bench\.ts$/, '')));

const figures: unknown[] = [];
let failed = 0;
for (const script of scripts) {
  console.log(`# ${script}`);
  const code = await runScript(path.join(here, script), (line) => {
    if (line.startsWith('{')) figures.push(JSON.parse(line));
    else console.log(line);
  });
  if (code !== 0) {
    failed++;
    console.log(`  ${script} exited with ${code}`);
  }
}
const machine = {
  cpus: os.cpus().length,
  cpuModel: os.cpus()[0]?.model ?? 'unknown',
  memoryGiB: Math.round(os.totalmem() / 2 ** 30),
  node: process.version,
};
await mkdir('bench-results', { recursive: true });
await writeFile('bench-results/latest.json', `${JSON.stringify({ date: new Date().toISOString(), machine, figures }, null, 2)}\n`);
console.log(`wrote bench-results/latest.json (${figures.length} figures, ${failed} failed scripts)`);
process.exitCode = failed === 0 ? 0 : 1;

function runScript(file: string, onLine: (line: string) => void): Promise<number> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, ['--expose-gc', file], { stdio: ['ignore', 'pipe', 'inherit'] });
    let buffer = '';
    child.stdout.on('data', (chunk: Buffer) => {
      buffer += chunk.toString();
      const lines = buffer.split('\n');
      buffer = lines.pop() ?? '';
      for (const line of lines) onLine(line);
    });
    child.on('close', (code) => {
      if (buffer !== '') onLine(buffer);
      resolve(code ?? 1);
    });
  });
}
