/**
 * Closes connections to etcd that never hear back. grpc-js (1.14) leaves a connection whose HTTP/2
 * handshake is never answered open forever: the subchannel goes idle when etcd3 resets the host's
 * service clients after a failed call, but the pending session is not destroyed, and each reset
 * dials a new one. Against an address that accepts and never answers (a load balancer or NAT in
 * front of a dead etcd, a half-dead middlebox), a replica piled up ~2.5 sockets a second
 * (attack21b N2; test/ha/socket-bound.test.ts).
 *
 * Every TCP client socket to an etcd endpoint (matched by host and port when it connects, seen
 * through Node's `net.client.socket` diagnostics channel) gets an inactivity timer of
 * `handshakeMs`; when it fires on a socket that has read nothing from etcd, the socket is
 * destroyed. A socket that has heard from etcd is left to gRPC's keep-alive pings (10 s, timeout
 * 2 s), which destroy an established connection that goes silent.
 */
import dc from 'node:diagnostics_channel';
import { isIP, type Socket } from 'node:net';

/** How long a new connection to etcd may stay without a single byte from etcd, ms. */
export const DEFAULT_HANDSHAKE_MS = 2000;

interface Watched {
  readonly ports: ReadonlySet<number>;
  readonly hosts: ReadonlySet<string>;
  readonly handshakeMs: number;
}

const watched = new Set<Watched>();
let subscribed = false;

/** A host:port pair from an endpoint URL (`http(s)://host:port`). */
function hostPort(endpoint: string): { host: string; port: number } {
  const url = new URL(endpoint);
  const port = url.port === '' ? (url.protocol === 'https:' ? 443 : 80) : Number(url.port);
  return { host: url.hostname.replace(/^\[|\]$/g, ''), port };
}

/** Whether `socket` (connected) goes to one of `entry`'s endpoints; a host name matches any address on its port. */
function matches(entry: Watched, socket: Socket): boolean {
  if (socket.remotePort === undefined || !entry.ports.has(socket.remotePort)) return false;
  const names = [...entry.hosts].filter((h) => isIP(h) === 0);
  return names.length > 0 || entry.hosts.has(socket.remoteAddress ?? '');
}

function guard(socket: Socket): void {
  const entry = [...watched].find((w) => matches(w, socket));
  if (entry === undefined) return;
  socket.setTimeout(entry.handshakeMs);
  socket.once('timeout', () => {
    // After the poll phase: data that arrived during an event-loop stall is counted first.
    setImmediate(() => {
      if (socket.bytesRead === 0) socket.destroy();
      else socket.setTimeout(0);
    });
  });
}

function onSocket(message: unknown): void {
  const socket = (message as { socket?: Socket }).socket;
  if (socket === undefined || watched.size === 0) return;
  socket.once('connect', () => guard(socket));
}

/**
 * Starts closing unanswered connections to `endpoints`; returns the function that stops it (call
 * it when the etcd client closes).
 */
export function guardEtcdSockets(endpoints: readonly string[], handshakeMs = DEFAULT_HANDSHAKE_MS): () => void {
  const pairs = endpoints.map(hostPort);
  const entry: Watched = { ports: new Set(pairs.map((p) => p.port)), hosts: new Set(pairs.map((p) => p.host)), handshakeMs };
  watched.add(entry);
  if (!subscribed) {
    dc.subscribe('net.client.socket', onSocket);
    subscribed = true;
  }
  return () => {
    watched.delete(entry);
  };
}
