/** Builders for small fleet repositories in tests. */
import { mkdtemp, mkdir, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';

export const DIGEST_A = `sha256:${'a'.repeat(64)}`;
export const DIGEST_B = `sha256:${'b'.repeat(64)}`;

/** A minimal valid repository: one Fleet, one aws Provider, one Image, one VmGroup. */
export function minimalFleet(
  overrides: { group?: string; image?: string; provider?: string; fleet?: string } = {},
): Record<string, string> {
  return {
    'fleet.yaml': overrides.fleet ?? 'apiVersion: drover/v1\nkind: Fleet\nmetadata: { name: test-fleet }\n',
    'provider.yaml':
      overrides.provider ?? 'apiVersion: drover/v1\nkind: Provider\nmetadata: { name: aws-eu }\nspec: { type: aws, region: eu-west-1 }\n',
    'image.yaml':
      overrides.image ??
      `apiVersion: drover/v1\nkind: Image\nmetadata: { name: web }\nspec:\n  digest: ${DIGEST_A}\n  artifacts: { aws-eu: { id: ami-0a1b2c3d4e5f60718 } }\n`,
    'group.yaml': overrides.group ?? groupYaml(),
  };
}

/** A VmGroup document; `extra` lines are appended inside spec (indent them by two spaces). */
export function groupYaml(extra = '', replicas = 3, name = 'web'): string {
  return `apiVersion: drover/v1\nkind: VmGroup\nmetadata: { name: ${name} }\nspec:\n  provider: aws-eu\n  image: web\n  replicas: ${replicas}\n  machine: { type: t3.small }\n  placement: { zones: [eu-west-1a, eu-west-1b] }\n${extra}`;
}

/** Writes files into a new temp directory; returns its path and a cleanup function. */
export async function writeFleet(files: Record<string, string | Buffer>): Promise<{ dir: string; cleanup: () => Promise<void> }> {
  const dir = await mkdtemp(path.join(tmpdir(), 'drover-fleet-'));
  for (const [name, content] of Object.entries(files)) {
    const file = path.join(dir, name);
    await mkdir(path.dirname(file), { recursive: true });
    await writeFile(file, content);
  }
  return { dir, cleanup: () => rm(dir, { recursive: true, force: true }) };
}
