/**
 * Listening failures of the CLI's servers (the daemon's API, the simulators) as one
 * {@link ListenError}, and a check that an address is free before the demo prepares anything.
 */
import { createServer } from 'node:net';
import { ListenError } from '../status/http-server.ts';

const LISTEN_CODES = new Set(['EADDRINUSE', 'EACCES', 'EADDRNOTAVAIL']);

/** `error` as a ListenError when it is one (or a raw listen errno from a simulator), else undefined. */
export function asListenError(error: unknown): ListenError | undefined {
  if (error instanceof ListenError) return error;
  const errno = error as NodeJS.ErrnoException & { address?: string; port?: number };
  if (errno?.syscall !== 'listen' || !LISTEN_CODES.has(errno.code ?? '')) return undefined;
  return new ListenError(`${errno.address ?? '?'}:${errno.port ?? '?'}`, errno.code!, { cause: error });
}

/** Resolves when `host:port` can be listened on (port 0 always can); a ListenError otherwise. */
export async function checkListen(host: string, port: number): Promise<void> {
  if (port === 0) return;
  const server = createServer();
  await new Promise<void>((resolve, reject) => {
    server.once('error', (error) => reject(asListenError(error) ?? error));
    server.listen(port, host, () => resolve());
  });
  await new Promise((resolve) => server.close(resolve));
}
