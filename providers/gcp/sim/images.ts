/**
 * Images of the simulated projects, and images.get. An image's labels carry whatever the image
 * pipeline put there; drover reads its digest prefix from the `drover-digest` label.
 */
import type { SimResponse } from '../../../src/sim/engine.ts';
import { ControlError } from '../../../src/sim/control.ts';
import { API_BASE, newNumericId, timestamp } from './context.ts';
import { jsonResponse, notFound } from './errors.ts';
import { validateLabels } from './validate.ts';

/** An image. */
export interface SimImage {
  readonly project: string;
  readonly name: string;
  readonly id: string;
  readonly status: 'READY' | 'PENDING' | 'FAILED' | 'DELETING';
  readonly labels: Readonly<Record<string, string>>;
  readonly family: string | undefined;
  readonly createdAt: number;
}

/** What registering an image takes: `projects/P/global/images/NAME` (or project + name). */
export interface ImageInput {
  /** `projects/P/global/images/NAME`; alternative to project + name. */
  readonly path?: string;
  readonly project?: string;
  readonly name?: string;
  readonly status?: SimImage['status'];
  readonly labels?: Readonly<Record<string, string>>;
  readonly family?: string;
}

const IMAGE_PATH =
  /^(?:https:\/\/(?:www|compute)\.googleapis\.com\/compute\/v1\/)?projects\/([a-z][-a-z0-9]{4,28}[a-z0-9])\/global\/images\/([a-z](?:[-a-z0-9]{0,61}[a-z0-9])?)$/;

/** Splits an image reference (path or self link) into project and name; undefined when malformed. */
export function parseImagePath(ref: string): { project: string; name: string } | undefined {
  const match = IMAGE_PATH.exec(ref);
  return match?.[1] === undefined || match[2] === undefined ? undefined : { project: match[1], name: match[2] };
}

/** The images of every project. */
export class ImageStore {
  #images = new Map<string, SimImage>();

  /** Registers (or replaces) an image; returns it. */
  put(input: ImageInput, now: number): SimImage {
    const parsed = input.path === undefined ? { project: input.project, name: input.name } : parseImagePath(input.path);
    if (parsed?.project === undefined || parsed.name === undefined)
      throw new ControlError(400, 'an image needs path projects/P/global/images/NAME (or project and name)');
    if (parseImagePath(`projects/${parsed.project}/global/images/${parsed.name}`) === undefined)
      throw new ControlError(400, `malformed image ${parsed.project}/${parsed.name}`);
    try {
      validateLabels(input.labels ?? {}, 'labels');
    } catch (error) {
      throw new ControlError(400, error instanceof Error ? error.message : 'invalid labels');
    }
    const image: SimImage = {
      project: parsed.project,
      name: parsed.name,
      id: this.get(parsed.project, parsed.name)?.id ?? newNumericId(),
      status: input.status ?? 'READY',
      labels: { ...input.labels },
      family: input.family,
      createdAt: now,
    };
    this.#images.set(`${image.project}/${image.name}`, image);
    return image;
  }

  get(project: string, name: string): SimImage | undefined {
    return this.#images.get(`${project}/${name}`);
  }

  delete(project: string, name: string): void {
    this.#images.delete(`${project}/${name}`);
  }

  all(): SimImage[] {
    return [...this.#images.values()];
  }
}

/** images.get. */
export function getImage(images: ImageStore, project: string, name: string): SimResponse {
  const image = images.get(project, name);
  if (image === undefined) throw notFound(`projects/${project}/global/images/${name}`);
  return jsonResponse(200, imageJson(image));
}

function imageJson(image: SimImage): Record<string, unknown> {
  return {
    kind: 'compute#image',
    id: image.id,
    creationTimestamp: timestamp(image.createdAt),
    name: image.name,
    sourceType: 'RAW',
    status: image.status,
    archiveSizeBytes: '1234567890',
    diskSizeGb: '10',
    ...(image.family === undefined ? {} : { family: image.family }),
    labels: image.labels,
    labelFingerprint: fingerprint(JSON.stringify(image.labels)),
    selfLink: `${API_BASE}projects/${image.project}/global/images/${image.name}`,
    storageLocations: ['eu'],
    architecture: 'X86_64',
  };
}

/** A short base64 fingerprint of some content (GCE's optimistic-locking token). */
export function fingerprint(content: string): string {
  let h = 2166136261;
  for (let i = 0; i < content.length; i++) h = Math.imul(h ^ content.charCodeAt(i), 16777619) >>> 0;
  return Buffer.from(h.toString(16).padStart(8, '0'), 'hex').toString('base64') + 'AAA=';
}
