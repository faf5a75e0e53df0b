/** Durations on the command line: "90s", "15m", "2h", or plain seconds. */
import { UsageError } from './usage-error.ts';

/** Milliseconds for `value`; a UsageError naming `flag` when it cannot be read. */
export function parseDuration(value: string, flag: string): number {
  const match = /^(\d+(?:\.\d+)?)(ms|s|m|h)?$/.exec(value.trim());
  if (!match) throw new UsageError(`${flag} expects a duration such as 90s, 15m or 2h, got '${value}'`);
  const n = Number(match[1]);
  const unit = match[2] ?? 's';
  const factor = { ms: 1, s: 1000, m: 60_000, h: 3_600_000 }[unit]!;
  return n * factor;
}
