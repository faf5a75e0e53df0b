/**
 * Verifies an image's artifact carries the expected digest before anything is launched from it,
 * caching successes for a while so a rollout of many instances costs one lookup, not one per launch.
 */
import type { ImageRef, Provider } from '../../providers/types.ts';

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
    const check = provider.verifyImage(image, signal === undefined ? {} : { signal })
      .then(() => void this.verified.set(key, this.now() + this.ttlMs))
      .finally(() => this.inFlight.delete(key));
    this.inFlight.set(key, check);
    return check;
  }
}
