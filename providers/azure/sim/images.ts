/**
 * Managed images and Azure Compute Gallery image versions of the simulated subscription, and
 * their GETs. Tags carry whatever the image pipeline put there (drover reads its digest from one).
 */
import { ControlError } from '../../../src/sim/control.ts';
import type { SimResponse } from '../../../src/sim/engine.ts';
import { ArmSimError, armJson } from './arm.ts';

/** Provisioning states an image reports. */
export type ImageState = 'Creating' | 'Succeeded' | 'Failed' | 'Deleting';

/** A managed image or gallery image version. */
export interface SimImage {
  /** Resource id as registered (case preserved). */
  readonly id: string;
  readonly kind: 'image' | 'galleryImageVersion';
  readonly name: string;
  readonly provisioningState: ImageState;
  readonly tags: Readonly<Record<string, string>>;
}

/** What registering an image takes. */
export interface ImageInput {
  /** A managed image id (…/providers/Microsoft.Compute/images/N) or gallery version id (…/galleries/G/images/I/versions/V). */
  readonly id: string;
  readonly provisioningState?: ImageState;
  readonly tags?: Readonly<Record<string, string>>;
}

const MANAGED = /^\/subscriptions\/[^/]+\/resourceGroups\/[^/]+\/providers\/Microsoft\.Compute\/images\/([^/]+)$/i;
const GALLERY =
  /^\/subscriptions\/[^/]+\/resourceGroups\/[^/]+\/providers\/Microsoft\.Compute\/galleries\/[^/]+\/images\/[^/]+\/versions\/([^/]+)$/i;

/** Which kind of image id `id` is, and its name; undefined when it is neither. */
export function parseImageId(id: string): { kind: SimImage['kind']; name: string } | undefined {
  const managed = MANAGED.exec(id);
  if (managed?.[1] !== undefined) return { kind: 'image', name: managed[1] };
  const gallery = GALLERY.exec(id);
  if (gallery?.[1] !== undefined) return { kind: 'galleryImageVersion', name: gallery[1] };
  return undefined;
}

/** The subscription's images, keyed by lowercase resource id. */
export class ImageStore {
  #images = new Map<string, SimImage>();

  /** Registers (or replaces) an image. */
  put(input: ImageInput): SimImage {
    const parsed = parseImageId(input.id);
    if (parsed === undefined) throw new ControlError(400, `not an image or gallery image version id: ${input.id}`);
    const image: SimImage = {
      id: input.id,
      kind: parsed.kind,
      name: parsed.name,
      provisioningState: input.provisioningState ?? 'Succeeded',
      tags: { ...input.tags },
    };
    this.#images.set(input.id.toLowerCase(), image);
    return image;
  }

  get(id: string): SimImage | undefined {
    return this.#images.get(id.toLowerCase());
  }

  delete(id: string): void {
    this.#images.delete(id.toLowerCase());
  }

  all(): SimImage[] {
    return [...this.#images.values()];
  }
}

/** GET of a managed image or gallery image version by its path (the request path is the resource id). */
export function getImage(images: ImageStore, path: string, location: string): SimResponse {
  const image = images.get(path);
  if (image === undefined) {
    const parsed = parseImageId(path);
    const type = parsed?.kind === 'galleryImageVersion' ? 'Microsoft.Compute/galleries/images/versions' : 'Microsoft.Compute/images';
    const group = /\/resourceGroups\/([^/]+)/i.exec(path)?.[1] ?? '';
    throw new ArmSimError(
      404,
      'ResourceNotFound',
      `The Resource '${type}/${parsed?.name ?? path}' under resource group '${group}' was not found.`,
    );
  }
  return armJson(200, renderImage(image, location));
}

function renderImage(image: SimImage, location: string): unknown {
  if (image.kind === 'image') {
    return {
      id: image.id,
      name: image.name,
      type: 'Microsoft.Compute/images',
      location,
      tags: image.tags,
      properties: {
        provisioningState: image.provisioningState,
        hyperVGeneration: 'V2',
        storageProfile: { osDisk: { osType: 'Linux', osState: 'Generalized', caching: 'ReadWrite' }, dataDisks: [] },
      },
    };
  }
  return {
    id: image.id,
    name: image.name,
    type: 'Microsoft.Compute/galleries/images/versions',
    location,
    tags: image.tags,
    properties: {
      provisioningState: image.provisioningState,
      publishingProfile: { targetRegions: [{ name: location, regionalReplicaCount: 1 }], replicaCount: 1, excludeFromLatest: false },
      storageProfile: { osDiskImage: { hostCaching: 'ReadWrite', sizeInGB: 30 } },
    },
  };
}
