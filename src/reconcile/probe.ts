/**
 * TCP and HTTP(S) health probes. HTTPS probes do not verify certificates, like Kubernetes'
 * httpGet probes: instances usually serve private certificates, and the probe only asks "up?".
 */
import { connect } from 'node:net';
import { Agent, request } from 'undici';
import type { Prober } from './health.ts';

/** Options for the default prober. */
export interface ProbeOptions {
  readonly timeoutMs: number;
}

/** A prober that opens a TCP connection, or sends GET and accepts any 2xx/3xx status. */
export function createProber(options: ProbeOptions = { timeoutMs: 2000 }): Prober {
  const agent = new Agent({ connect: { rejectUnauthorized: false }, keepAliveTimeout: 1000 });
  return async (address, probe) => {
    if (probe.kind === 'tcp') return tcpProbe(address, probe.port, options.timeoutMs);
    const host = address.includes(':') ? `[${address}]` : address;
    try {
      const response = await request(`${probe.scheme}://${host}:${probe.port}${probe.path}`, {
        method: 'GET',
        dispatcher: agent,
        signal: AbortSignal.timeout(options.timeoutMs),
        headers: { 'user-agent': 'drover-health-probe' },
      });
      await response.body.dump();
      return response.statusCode >= 200 && response.statusCode < 400;
    } catch {
      return false;
    }
  };
}

function tcpProbe(host: string, port: number, timeoutMs: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = connect({ host, port, timeout: timeoutMs });
    const done = (ok: boolean) => {
      socket.destroy();
      resolve(ok);
    };
    socket.once('connect', () => done(true));
    socket.once('timeout', () => done(false));
    socket.once('error', () => done(false));
  });
}
