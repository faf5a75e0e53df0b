/**
 * Checks of the `ha` section that JSON Schema cannot express: a lease TTL etcd and the fence can
 * work with, a fence window well inside it (a replica cut off from etcd must stop mutating long
 * before its lease can expire and another replica takes the lane), TLS files and credentials that
 * come in pairs, and no password or client key sent in clear text across the network.
 */
import { isLoopback } from '../contract/loopback.ts';
import type { ValueProblem } from './config-checks.ts';
import { DEFAULT_LEASE_TTL, durationMs } from './normalize.ts';

type Raw = Record<string, unknown>;

/** The shortest lease TTL: etcd's keep-alives go out every TTL/3, and the fence window is a fraction of it. */
export const MIN_LEASE_TTL_MS = 2000;

/** Problems of a schema-valid `ha` section (undefined: none). */
export function haProblems(ha: unknown): ValueProblem[] {
  if (ha === null || typeof ha !== 'object') return [];
  const etcd = (ha as Raw)['etcd'];
  if (etcd === null || typeof etcd !== 'object') return [];
  return [...timingProblems(etcd as Raw), ...pairProblems(etcd as Raw), ...transportProblems(etcd as Raw)];
}

function problem(field: string, code: string, message: string): ValueProblem {
  return { segments: ['ha', 'etcd', field], code, message };
}

function timingProblems(etcd: Raw): ValueProblem[] {
  const problems: ValueProblem[] = [];
  const ttl = typeof etcd['leaseTtl'] === 'string' ? etcd['leaseTtl'] : DEFAULT_LEASE_TTL;
  const ttlMs = durationMs(ttl);
  if (ttlMs < MIN_LEASE_TTL_MS)
    problems.push(
      problem('leaseTtl', 'config.outOfRange', `'ha.etcd.leaseTtl' is ${ttl}; it must be at least 2s (etcd leases are whole seconds)`),
    );
  else if (ttlMs % 1000 !== 0)
    problems.push(problem('leaseTtl', 'config.outOfRange', `'ha.etcd.leaseTtl' is ${ttl}; etcd leases are whole seconds (e.g. 15s)`));
  const window = etcd['fenceWindow'];
  if (typeof window !== 'string') return problems;
  const windowMs = durationMs(window);
  if (windowMs < 1)
    problems.push(problem('fenceWindow', 'config.outOfRange', `'ha.etcd.fenceWindow' must be at least 1ms (got ${window})`));
  else if (windowMs >= ttlMs / 2)
    problems.push(
      problem(
        'fenceWindow',
        'config.outOfRange',
        `'ha.etcd.fenceWindow' (${window}) must be shorter than half of 'ha.etcd.leaseTtl' (${ttl}): a replica cut off from etcd must stop mutating well before its lease can expire and another replica takes its lanes (default: a fifth of the TTL)`,
      ),
    );
  return problems;
}

function pairProblems(etcd: Raw): ValueProblem[] {
  const problems: ValueProblem[] = [];
  const pairs: readonly (readonly [string, string, string])[] = [
    ['certFile', 'keyFile', 'a client certificate needs its key, and a key its certificate'],
    ['username', 'passwordFile', 'etcd authentication needs both the user and the file holding its password'],
  ];
  for (const [a, b, why] of pairs) {
    const hasA = etcd[a] !== undefined;
    const hasB = etcd[b] !== undefined;
    if (hasA === hasB) continue;
    const [set, missing] = hasA ? [a, b] : [b, a];
    problems.push(problem(set, 'config.haPair', `'ha.etcd.${set}' is set without 'ha.etcd.${missing}': ${why}; set both or neither`));
  }
  return problems;
}

/** TLS settings need https endpoints; a password goes in clear text only to this machine. */
function transportProblems(etcd: Raw): ValueProblem[] {
  const endpoints = Array.isArray(etcd['endpoints']) ? (etcd['endpoints'] as unknown[]).map(String) : [];
  const problems: ValueProblem[] = [];
  const tls = ['caFile', 'certFile', 'keyFile'].find((field) => etcd[field] !== undefined);
  endpoints.forEach((endpoint, i) => {
    let url: URL;
    try {
      url = new URL(endpoint);
    } catch {
      problems.push(problem('endpoints', 'config.haEndpoint', `'ha.etcd.endpoints[${i}]' ${JSON.stringify(endpoint)} is not a URL`));
      return;
    }
    if (url.username !== '' || url.password !== '') {
      problems.push(
        problem(
          'endpoints',
          'config.haEndpoint',
          `'ha.etcd.endpoints[${i}]' must not hold credentials (user:password@); use ha.etcd.username and ha.etcd.passwordFile`,
        ),
      );
      return;
    }
    if (url.protocol === 'https:') return;
    if (tls !== undefined)
      problems.push(
        problem(
          'endpoints',
          'config.haEndpoint',
          `'ha.etcd.endpoints[${i}]' is http:// but 'ha.etcd.${tls}' is set: TLS settings need https:// endpoints (all of them)`,
        ),
      );
    else if (etcd['passwordFile'] !== undefined && !isLoopback(url.hostname))
      problems.push(
        problem(
          'endpoints',
          'config.haEndpoint',
          `'ha.etcd.endpoints[${i}]' is http:// to ${url.hostname}: the etcd password would cross the network in clear text; use https:// (http:// with a password is accepted for loopback addresses only)`,
        ),
      );
  });
  return problems;
}
