/**
 * The AWS EC2 plugin: everything drover knows about the `aws` provider type (see providers/plugin.ts).
 * Light: @aws-sdk/client-ec2 loads only when a fleet opens an AWS provider (open.ts) and the
 * simulator only when one is started (sim-start.ts).
 */
import type { AwsProviderSpec } from '../../src/contract/fleet.ts';
import { definePlugin } from '../plugin.ts';
import { awsGroupChecks } from './group-checks.ts';
import type { AwsProviderOptions } from './provider.ts';
import { DEFAULT_RETRY } from './retry.ts';

/** The `aws` provider type. */
export const aws = definePlugin<'aws', AwsProviderOptions>({
  type: 'aws',
  load: async () => (await import('./open.ts')).createAwsProvider,
  // At or below EC2's published limits: RunInstances refills 2/s with burst 5; TerminateInstances
  // 5 calls/s with burst 100 and 20 instances/s with burst 1000 — a batch of destroys also reads
  // its instances in one DescribeInstances, from its 20/s; DescribeInstances and DescribeImages
  // 20/s with burst 100.
  limits: {
    concurrency: 8,
    ratePerSecond: 2,
    burst: 5,
    // Two instances (1 s of refill) in reserve: see RateLimiter. Without it, launches paced to the
    // token arrived a hair early about every other time (2,443 throttled RunInstances of 4,000 in
    // the convergence bench).
    launchedInstances: { ratePerSecond: 2, burst: 1000, reserve: 2 },
    // The destroy lane meters destroy() invocations, i.e. instances, not SDK calls: the provider
    // coalesces destroys until none has come for 250 ms (at most 2 s, up to 100 ids;
    // providers/aws/destroy-batch.ts) into one DescribeInstances + one TerminateInstances. So the lane follows EC2's per-instance
    // bucket (TerminateInstances.resources: 20 instances/s) rather than the 5 calls/s one, which at
    // ~5 ids per batch in steady state the batches stay under; the concurrency lets a whole burst
    // be in flight at once so it forms a few large batches instead of many small ones.
    lanes: { destroy: { concurrency: 100, ratePerSecond: 20, burst: 100 }, read: { concurrency: 4, ratePerSecond: 10, burst: 50 } },
  },
  artifact: 'id',
  defaultZones: () => [''],
  scope: (spec: AwsProviderSpec) => spec.region,
  credentials: {
    fields: ['profile', 'fromEnv'],
    hint: "AWS credentials from the standard chain (AWS_PROFILE or AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY, SSO, an instance role), or providers.<name>.credentials.profile in the operator's config",
    instead:
      "use the standard AWS chain (env AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY, a profile, or an instance role), chosen in the operator's config (providers.<name>.credentials in drover.yaml)",
  },
  retry: DEFAULT_RETRY,
  groupChecks: awsGroupChecks,
  simulator: async (config, seed, options) => (await import('./sim-start.ts')).startSimulator(config, seed, options),
});
