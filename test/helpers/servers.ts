/** Loopback servers in tests: closed after each test, connections and all, and ports nobody listens on. */
import { createServer, type Server } from 'node:net';
import { afterEach } from 'vitest';

/** Closes a server, and an HTTP server's open connections first (a keep-alive socket would hold close() up). */
export async function closeServer(server: Server): Promise<void> {
  (server as Partial<{ closeAllConnections(): void }>).closeAllConnections?.();
  await new Promise<void>((resolve) => server.close(() => resolve()));
}

/** The servers of a test file: whatever is pushed into the list is closed after each test. */
export function trackedServers<S extends Server>(): S[] {
  const servers: S[] = [];
  afterEach(async () => {
    while (servers.length > 0) await closeServer(servers.pop() as S);
  });
  return servers;
}

/** A loopback port nobody listens on now: one that was free a moment ago. */
export async function freePort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', () => resolve()));
  const { port } = server.address() as { port: number };
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return port;
}
