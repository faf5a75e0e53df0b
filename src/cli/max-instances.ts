/** The --max-instances flag of validate, plan and apply: the operator's fleet-wide instance cap. */
import { DEFAULT_MAX_INSTANCES } from '../desired/instance-cap.ts';
import { UsageError } from './usage-error.ts';

/** The --max-instances flag (default {@link DEFAULT_MAX_INSTANCES}); a UsageError names a bad value. */
export function parseMaxInstances(value: string | undefined): number {
  if (value === undefined) return DEFAULT_MAX_INSTANCES;
  const n = Number(value);
  if (!/^\d+$/.test(value) || n > 10_000_000) throw new UsageError(`--max-instances must be an integer from 0 to 10000000, got '${value}'`);
  return n;
}
