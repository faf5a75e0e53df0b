/**
 * Verifies an image's artifact carries the expected digest before anything is launched from it,
 * caching successes for a while so a rollout of many instances costs one lookup, not one per launch.
 */
import type { ImageRef, Provider } from '../contract/provider.ts';
import type { DesiredState } from '../contract/fleet.ts';
import type { GroupStep } from '../plan/types.ts';
import { fromProviderError } from './errors.ts';
import type { ReconcileError } from './errors.ts';

/** Checks images through their provider; concurrent checks of one image share a single call. */
export class ImageVerifier {
  private readonly verified = new Map<string, number>();
  private readonly inFlight = new Map<string, Promise<void>>();
  private readonly ttlMs: number;
  private readonly now: () => number;

  constructor(options: { ttlMs?: number; now?: () => number } = {}) {
    this.ttlMs = options.ttlMs ?? 10 * 60_000;
    this.now = options.now ?? Date.now;
  }

  /** Resolves when `image` is verified in `provider`; rejects with the provider's error otherwise. */
  async verify(provider: Provider, image: ImageRef, signal?: AbortSignal): Promise<void> {
    const key = `${provider.name}\0${image.digest}\0${JSON.stringify(image.artifact)}`;
    const until = this.verified.get(key);
    if (until !== undefined && until > this.now()) return;
    const pending = this.inFlight.get(key);
    if (pending !== undefined) return pending;
    const check = provider
      .verifyImage(image, signal === undefined ? {} : { signal })
      .then(() => void this.verified.set(key, this.now() + this.ttlMs))
      .finally(() => this.inFlight.delete(key));
    this.inFlight.set(key, check);
    return check;
  }
}

/** A group whose planned creates would fail: its image does not verify. */
export interface ImageRefusal {
  readonly group: string;
  readonly error: ReconcileError;
}

/**
 * Verifies the image of every group that plans creates of its desired template, as the creates
 * themselves would (a read: DescribeImages, images.get, the template's config), so `drover plan`
 * says "would fail" instead of showing ordinary creates. Transient failures (throttling, 5xx) are
 * not refusals: the creates might well succeed.
 */
export async function refusedImages(
  state: DesiredState,
  steps: readonly GroupStep[],
  providers: ReadonlyMap<string, Provider>,
  verifier: ImageVerifier,
  signal?: AbortSignal,
): Promise<ImageRefusal[]> {
  const checks = steps.flatMap((step) => {
    const group = state.groups[step.group];
    const provider = group === undefined ? undefined : providers.get(group.provider);
    if (group === undefined || provider === undefined || !step.creates.some((c) => c.templateHash === group.templateHash)) return [];
    const image: ImageRef = { name: group.image, digest: group.template.imageDigest, artifact: group.template.artifact };
    return [
      verifier.verify(provider, image, signal).then(
        () => undefined,
        (error: unknown) => ({ group: group.name, error: fromProviderError(error, `image ${group.image}`) }),
      ),
    ];
  });
  const results = await Promise.all(checks);
  return results.filter((r): r is ImageRefusal => r !== undefined && r.error.policy === 'stalled');
}
