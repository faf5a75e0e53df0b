/**
 * drover's client-side call limits for one provider: what each cloud's plugin declares (`limits`)
 * and what src/reconcile/limited-provider.ts enforces (a queue and a token bucket per lane).
 */

/** Concurrency and token bucket of one lane of calls. */
export interface LaneSettings {
  readonly concurrency: number;
  readonly ratePerSecond: number;
  readonly burst: number;
}

/**
 * Limits for one provider. `concurrency`, `ratePerSecond` and `burst` meter creates (the launch
 * bucket, the scarcest) and every operation without a lane of its own. A cloud that meters deletes
 * or reads in buckets of their own gets `lanes` for them, each with its own queue, so a backlog of
 * deletes never holds up launches (and the reverse), as the cloud's own buckets would not.
 */
export interface LimitSettings extends LaneSettings {
  readonly lanes?: Readonly<Partial<Record<'destroy' | 'read', LaneSettings>>>;
  /**
   * A second bucket for instances launched, for clouds that meter them apart from launch calls
   * (EC2: RunInstances.resources refills 2 instances/s with a burst of 1,000). A create takes one
   * token, a batched create one per instance, besides the one call token either takes.
   */
  readonly launchedInstances?: Readonly<{ ratePerSecond: number; burst: number; reserve?: number }>;
}
