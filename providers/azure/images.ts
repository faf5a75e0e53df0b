/**
 * verifyImage for Azure: the artifact id is an Azure Compute Gallery image version or a managed
 * image; its `drover:digest` tag must equal the Image document's digest and it must be provisioned.
 */
import { ProviderError, type ProviderErrorKind } from '../../src/contract/errors.ts';
import type { ImageRef } from '../../src/contract/provider.ts';
import type { ArmOps } from './arm-ops.ts';
import type { AzureClients } from './client.ts';
import { TAG } from './tags.ts';

const GALLERY =
  /^\/subscriptions\/[^/]+\/resourceGroups\/([^/]+)\/providers\/Microsoft\.Compute\/galleries\/([^/]+)\/images\/([^/]+)\/versions\/([^/]+)$/i;
const MANAGED = /^\/subscriptions\/[^/]+\/resourceGroups\/([^/]+)\/providers\/Microsoft\.Compute\/images\/([^/]+)$/i;

/** What verification needs. */
export interface VerifyDeps {
  readonly clients: AzureClients;
  readonly ops: ArmOps;
  readonly provider: string;
  readonly signal: AbortSignal | undefined;
}

/** Rejects with Invalid ImageNotFound / ImageDigestMismatch / ImageNotAvailable, or Transient while it is still being created. */
export async function verifyImage(image: ImageRef, deps: VerifyDeps): Promise<void> {
  const id = image.artifact.id;
  const fail = (kind: ProviderErrorKind, reason: string, message: string, cause?: unknown): ProviderError =>
    new ProviderError({ kind, reason, provider: deps.provider, operation: 'verifyImage', message, cause });
  if (id === undefined) throw fail('Invalid', 'ImageNotFound', `image ${image.name} has no Azure image id for ${deps.provider}`);
  const found = await fetchImage(id, deps).catch((error: unknown) => {
    if (error instanceof ProviderError && error.kind === 'NotFound')
      throw fail('Invalid', 'ImageNotFound', `image ${id} of ${image.name} does not exist`, error);
    throw error;
  });
  if (found === undefined) throw fail('Invalid', 'ImageNotFound', `${id} is neither a gallery image version nor a managed image id`);
  if (found.provisioningState === 'Creating' || found.provisioningState === 'Updating')
    throw fail('Transient', 'ImageNotAvailable', `image ${id} is still ${found.provisioningState}`);
  if (found.provisioningState !== undefined && found.provisioningState !== 'Succeeded')
    throw fail('Invalid', 'ImageNotAvailable', `image ${id} is ${found.provisioningState}`);
  const digest = found.tags?.[TAG.digest];
  if (digest !== image.digest) {
    const seen = digest === undefined ? `no ${TAG.digest} tag` : `${TAG.digest}=${digest}`;
    throw fail('Invalid', 'ImageDigestMismatch', `image ${id} has ${seen}, image ${image.name} wants ${image.digest}`);
  }
}

async function fetchImage(
  id: string,
  deps: VerifyDeps,
): Promise<{ provisioningState?: string; tags?: Record<string, string> } | undefined> {
  const { compute } = deps.clients;
  const gallery = GALLERY.exec(id);
  if (gallery !== null) {
    const [, group = '', galleryName = '', imageName = '', version = ''] = gallery;
    return deps.ops.call('verifyImage', deps.signal, (s) =>
      compute.galleryImageVersions.get(group, galleryName, imageName, version, { abortSignal: s }),
    );
  }
  const managed = MANAGED.exec(id);
  if (managed !== null) {
    const [, group = '', name = ''] = managed;
    return deps.ops.call('verifyImage', deps.signal, (s) => compute.images.get(group, name, { abortSignal: s }));
  }
  return undefined;
}
