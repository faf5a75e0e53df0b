/** The --max-instances and --max-providers flags of validate, plan and apply: the operator's fleet-wide caps. */
import { DEFAULT_MAX_INSTANCES, DEFAULT_MAX_PROVIDERS, MAX_PROVIDERS_LIMIT } from '../desired/instance-cap.ts';
import { UsageError } from './usage-error.ts';

/** The --max-instances flag (default {@link DEFAULT_MAX_INSTANCES}); a UsageError names a bad value. */
export function parseMaxInstances(value: string | undefined): number {
  if (value === undefined) return DEFAULT_MAX_INSTANCES;
  const n = Number(value);
  if (!/^\d+$/.test(value) || n > 10_000_000) throw new UsageError(`--max-instances must be an integer from 0 to 10000000, got '${value}'`);
  return n;
}

/** The --max-providers flag (default {@link DEFAULT_MAX_PROVIDERS}); a UsageError names a bad value. */
export function parseMaxProviders(value: string | undefined): number {
  if (value === undefined) return DEFAULT_MAX_PROVIDERS;
  const n = Number(value);
  if (!/^\d+$/.test(value) || n < 1 || n > MAX_PROVIDERS_LIMIT)
    throw new UsageError(`--max-providers must be an integer from 1 to ${MAX_PROVIDERS_LIMIT}, got '${value}'`);
  return n;
}
