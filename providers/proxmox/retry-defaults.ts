/**
 * The Proxmox retry defaults, apart from retry.ts so the plugin (providers/proxmox/index.ts) can
 * name them without loading the PVE client and undici (retry.ts → classify.ts → client.ts).
 */
import type { RetryTuning } from '../retry.ts';

/** Production defaults: up to 6 attempts, ≤ 10 s apart, 30 s per attempt (PVE does not throttle: same base). */
export const DEFAULT_RETRY: RetryTuning = {
  maxAttempts: 6,
  baseDelayMs: 250,
  throttleBaseDelayMs: 250,
  maxDelayMs: 10_000,
  attemptTimeoutMs: 30_000,
};
