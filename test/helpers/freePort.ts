/**
 * Free TCP ports on the loopback interface, so parallel test files never
 * collide on a fixed port.
 */
import { createServer } from 'node:net';

/**
 * A TCP port on 127.0.0.1 that was free a moment ago: the kernel picks one
 * when binding port 0, and the listener is closed again. Another process can
 * still take it before the caller binds it, so callers retry on
 * `EADDRINUSE`.
 */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.unref();
    server.once('error', reject);
    server.listen({ port: 0, host: '127.0.0.1', exclusive: true }, () => {
      const address = server.address();
      const port = typeof address === 'object' && address !== null ? address.port : 0;
      server.close((err) => {
        if (err) reject(err);
        else if (port === 0) reject(new Error('the kernel did not assign a port'));
        else resolve(port);
      });
    });
  });
}
