/**
 * Splits the cost of one full inventory list (the first thing every pass does) between the
 * simulator (filter + XML rendering + HTTP, timed with raw HTTP requests that parse nothing) and
 * drover's side (the real AWS provider: SDK request, XML deserialization, toObserved), in this
 * process, against a running simulator.
 */
import { request } from 'undici';
import { createAwsProvider } from '../../providers/aws/open.ts';
import type { Ec2Simulator } from '../../providers/aws/sim.ts';
import { FLEET_ID, PROVIDER, REGION } from './daemon-fleet.ts';

/** Milliseconds per full list: raw (simulator only) and through the provider (simulator + client). */
export interface ListSplit {
  readonly instances: number;
  readonly pages: number;
  readonly xmlBytesPerInstance: number;
  readonly simulatorMs: number;
  readonly providerMs: number;
}

const AUTH = `AWS4-HMAC-SHA256 Credential=AKIDBENCH/20260101/${REGION}/ec2/aws4_request, SignedHeaders=host, Signature=0`;

function mid<T>(xs: readonly T[], f: (x: T) => number): number {
  return xs.map(f).sort((a, b) => a - b)[Math.floor((xs.length - 1) / 2)] ?? Number.NaN;
}

/** Median of `rounds` measurements of each. */
export async function splitListCost(sim: Ec2Simulator, rounds = 3): Promise<ListSplit> {
  const raw: { ms: number; pages: number; bytes: number }[] = [];
  const provided: { ms: number; instances: number }[] = [];
  const provider = await createAwsProvider({
    config: { name: PROVIDER, type: 'aws', spec: { region: REGION } } as never,
    fleet: FLEET_ID,
    endpoint: sim.url,
    staticCredentials: { accessKeyId: 'AKIDBENCH', secretAccessKey: 'bench-secret' },
  });
  try {
    for (let round = 0; round < rounds; round++) {
      let token: string | undefined;
      let pages = 0;
      let bytes = 0;
      const t = performance.now();
      do {
        const params: Record<string, string> = {
          Action: 'DescribeInstances',
          Version: '2016-11-15',
          'Filter.1.Name': 'tag:drover:fleet',
          'Filter.1.Value.1': FLEET_ID,
          MaxResults: '1000',
        };
        if (token !== undefined) params['NextToken'] = token;
        const res = await request(sim.url, {
          method: 'POST',
          headers: { 'content-type': 'application/x-www-form-urlencoded', authorization: AUTH },
          body: new URLSearchParams(params).toString(),
        });
        const text = await res.body.text();
        if (res.statusCode !== 200) throw new Error(`DescribeInstances answered ${res.statusCode}: ${text.slice(0, 200)}`);
        pages++;
        bytes += text.length;
        token = /<nextToken>([^<]+)<\/nextToken>/.exec(text)?.[1];
      } while (token !== undefined);
      raw.push({ ms: performance.now() - t, pages, bytes });
      const t2 = performance.now();
      const instances = (await provider.list({ fleet: FLEET_ID })).length;
      provided.push({ ms: performance.now() - t2, instances });
    }
  } finally {
    await provider.close?.();
  }
  const instances = provided[0]?.instances ?? 0;
  return {
    instances,
    pages: raw[0]?.pages ?? 0,
    xmlBytesPerInstance: Math.round((raw[0]?.bytes ?? 0) / Math.max(1, instances)),
    simulatorMs: mid(raw, (r) => r.ms),
    providerMs: mid(provided, (p) => p.ms),
  };
}
