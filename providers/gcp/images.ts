/**
 * verifyImage for Compute Engine: the artifact is an image path (`projects/P/global/images/NAME`,
 * its self link, or `global/images/NAME` / `NAME` in the provider's own project). Image families
 * are refused: a family resolves to whatever image is newest at launch time, so the digest checked
 * here would not be the one launched. The image's `drover-digest` label must equal the digest's
 * label form (see labels.ts digestLabel).
 */
import type { protos } from '@google-cloud/compute';
import { ProviderError } from '../../src/contract/errors.ts';
import type { ImageRef } from '../../src/contract/provider.ts';
import { digestLabel, LABEL } from './labels.ts';

type Image = protos.google.cloud.compute.v1.IImage;

const FULL =
  /^(?:https:\/\/(?:www|compute)\.googleapis\.com\/compute\/v1\/)?projects\/([a-z][-a-z0-9]{4,28}[a-z0-9])\/global\/images\/([a-z](?:[-a-z0-9]{0,61}[a-z0-9])?)$/;
const LOCAL = /^(?:global\/images\/)?([a-z](?:[-a-z0-9]{0,61}[a-z0-9])?)$/;

/** What verification needs. */
export interface VerifyContext {
  readonly provider: string;
  /** The provider's project (for short image references). */
  readonly project: string;
  /** images.get through the retry loop. */
  readonly get: (project: string, name: string) => Promise<Image>;
}

/** Project and name of an image reference; undefined for families and malformed ids. */
export function parseImageRef(id: string, project: string): { project: string; name: string } | undefined {
  const full = FULL.exec(id);
  if (full?.[1] !== undefined && full[2] !== undefined) return { project: full[1], name: full[2] };
  const local = LOCAL.exec(id);
  return local?.[1] === undefined ? undefined : { project, name: local[1] };
}

/** Rejects with Invalid ImageNotFound / ImageDigestMismatch / ImageNotAvailable (or Transient while PENDING). */
export async function verifyImage(image: ImageRef, ctx: VerifyContext): Promise<void> {
  const id = image.artifact.id;
  const fail = (kind: 'Invalid' | 'Transient', reason: string, message: string, cause?: unknown): ProviderError =>
    new ProviderError({ kind, reason, provider: ctx.provider, operation: 'verifyImage', message, cause });
  if (id === undefined) throw fail('Invalid', 'ImageNotFound', `image ${image.name} has no GCE image for ${ctx.provider}`);
  if (id.includes('/images/family/'))
    throw fail('Invalid', 'ImageFamilyNotPinned', `image ${image.name}: ${id} is an image family; pin one image`);
  const ref = parseImageRef(id, ctx.project);
  if (ref === undefined) throw fail('Invalid', 'ImageNotFound', `image ${image.name}: ${id} is not an image path`);
  let found: Image;
  try {
    found = await ctx.get(ref.project, ref.name);
  } catch (error) {
    if (error instanceof ProviderError && error.kind === 'NotFound')
      throw fail('Invalid', 'ImageNotFound', `GCE image ${id} of image ${image.name} does not exist`, error);
    throw error;
  }
  const status = String(found.status ?? '');
  if (status === 'PENDING') throw fail('Transient', 'ImageNotAvailable', `GCE image ${id} is still PENDING`);
  if (status !== 'READY')
    throw fail('Invalid', 'ImageNotAvailable', `GCE image ${id} is ${status === '' ? 'in an unknown state' : status}`);
  const deprecated = String(found.deprecated?.state ?? '');
  if (deprecated === 'DELETED' || deprecated === 'OBSOLETE') throw fail('Invalid', 'ImageNotAvailable', `GCE image ${id} is ${deprecated}`);
  const label = found.labels?.[LABEL.digest];
  if (label !== digestLabel(image.digest)) {
    const seen = label === undefined ? `no ${LABEL.digest} label` : `${LABEL.digest}=${label}`;
    throw fail('Invalid', 'ImageDigestMismatch', `GCE image ${id} has ${seen}, image ${image.name} wants ${digestLabel(image.digest)}`);
  }
}
