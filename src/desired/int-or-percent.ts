/** Counts written as an integer or a percentage of replicas ("25%"), resolved like Kubernetes. */
import type { IntOrPercent } from '../contract/fleet.ts';

/** Resolves against `total`; percentages round up ('ceil', surge) or down ('floor', unavailable). */
export function resolveIntOrPercent(value: IntOrPercent, total: number, round: 'ceil' | 'floor'): number {
  if (typeof value === 'number') return value;
  const percent = Number(value.slice(0, -1));
  const exact = (percent * total) / 100;
  return round === 'ceil' ? Math.ceil(exact) : Math.floor(exact);
}
