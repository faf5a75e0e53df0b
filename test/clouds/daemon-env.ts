/** Helpers for binding the `drover run` process to a simulator through its environment. */
import { createHash } from 'node:crypto';
import { writeFileSync } from 'node:fs';
import path from 'node:path';

/** The environment-variable form of a Provider name (`aws-eu` → `AWS_EU`). */
export function envName(provider: string): string {
  return provider.toUpperCase().replace(/-/g, '_');
}

/** The variables that give Provider `provider` its type and the simulator's endpoint. */
export function endpointEnv(provider: string, type: string, url: string): Record<string, string> {
  return { [`DROVER_PROVIDERS__${envName(provider)}__TYPE`]: type, [`DROVER_ENDPOINT_${envName(provider)}`]: url };
}

/** Writes an https simulator's CA into `dir` and returns the variable that makes the process trust it. */
export function caFileEnv(dir: string, provider: string, pem: string): Record<string, string> {
  const file = path.join(dir, `${provider}-ca.pem`);
  writeFileSync(file, pem);
  return { [`DROVER_CA_FILE_${envName(provider)}`]: file };
}

/** `length` hex digits derived from `text` (stable image ids). */
export function hexOf(text: string, length: number): string {
  return createHash('sha256').update(text).digest('hex').slice(0, length);
}
