/**
 * The `yaml` examples of README.md and the provider READMEs are what newcomers copy: every one must
 * be accepted by what it claims to be — fleet documents by the loader (`drover validate`), an
 * operator's config by the config loader (`plan --config` / `drover run --config`).
 */
import assert from 'node:assert/strict';
import { readFile, readdir } from 'node:fs/promises';
import path from 'node:path';
import { parseAllDocuments } from 'yaml';
import { loadDaemonConfig, loadProviderBindings } from '../../src/config/daemon-config.ts';
import { loadFleet } from '../../src/desired/load.ts';
import { formatProblem } from '../../src/desired/problems.ts';
import { writeFleet } from '../helpers/fleet-files.ts';

const ROOT = path.resolve(import.meta.dirname, '../..');

/** What a top README example names without defining (the VmGroup example's provider and image). */
const CONTEXT = `apiVersion: drover/v1
kind: Fleet
metadata: { name: readme }
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
  digest: sha256:${'a'.repeat(64)}
  artifacts: { aws-eu: { id: ami-0123456789abcdef0 } }
`;

interface Block {
  readonly file: string;
  readonly line: number;
  readonly text: string;
}

async function readmes(): Promise<string[]> {
  const providers = await readdir(path.join(ROOT, 'providers'), { withFileTypes: true });
  const own = providers.filter((entry) => entry.isDirectory()).map((entry) => `providers/${entry.name}/README.md`);
  const present = await Promise.all(
    own.map(async (file) =>
      (await readFile(path.join(ROOT, file)).then(
        () => true,
        () => false,
      ))
        ? file
        : undefined,
    ),
  );
  return ['README.md', ...present.filter((file) => file !== undefined)];
}

async function yamlBlocks(file: string): Promise<Block[]> {
  const lines = (await readFile(path.join(ROOT, file), 'utf8')).split('\n');
  const blocks: Block[] = [];
  let start: number | undefined;
  for (const [index, line] of lines.entries()) {
    if (start === undefined && line.trim() === '```yaml') start = index + 1;
    else if (start !== undefined && line.trim() === '```') {
      blocks.push({ file, line: start + 1, text: lines.slice(start, index).join('\n') });
      start = undefined;
    }
  }
  return blocks;
}

function kindOf(block: Block): 'fleet' | 'config' | 'fragment' {
  const docs = parseAllDocuments(block.text).map((doc) => doc.toJS() as unknown);
  const objects = docs.filter((doc): doc is Record<string, unknown> => doc !== null && typeof doc === 'object');
  if (objects.some((doc) => 'kind' in doc)) return 'fleet';
  if (objects.some((doc) => 'providers' in doc || 'source' in doc)) return 'config';
  return 'fragment';
}

async function fleetProblems(block: Block): Promise<string[]> {
  const { dir, cleanup } = await writeFleet({ 'context.yaml': CONTEXT, 'example.yaml': block.text });
  try {
    const result = await loadFleet(dir);
    return result.ok ? [] : result.problems.map(formatProblem);
  } finally {
    await cleanup();
  }
}

async function configProblems(block: Block): Promise<string[]> {
  const { dir, cleanup } = await writeFleet({ 'drover.yaml': block.text });
  try {
    const file = path.join(dir, 'drover.yaml');
    const result = block.text.includes('source:') ? await loadDaemonConfig(file, {}) : await loadProviderBindings(file, {});
    return result.ok ? [] : result.problems.map(formatProblem);
  } finally {
    await cleanup();
  }
}

describe('README yaml examples', () => {
  it('are accepted: fleet documents by the loader, configs by the config loader', async () => {
    const blocks = (await Promise.all((await readmes()).map(yamlBlocks))).flat();
    const checked = { fleet: 0, config: 0 };
    const failures: string[] = [];
    for (const block of blocks) {
      const kind = kindOf(block);
      if (kind === 'fragment') continue;
      checked[kind] += 1;
      const problems = kind === 'fleet' ? await fleetProblems(block) : await configProblems(block);
      for (const problem of problems) failures.push(`${block.file}:${block.line} (${kind} example): ${problem}`);
    }
    assert.deepEqual(failures, []);
    assert.ok(checked.fleet >= 3, `fleet examples checked: ${checked.fleet}`);
    assert.ok(checked.config >= 3, `config examples checked: ${checked.config}`);
  });
});
