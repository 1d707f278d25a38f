/**
 * Free TCP ports on the loopback interface, so parallel test files never
 * collide on a fixed port.
 */
import { createServer } from 'node:net';

/**
 * Every port handed out by this process. The kernel may offer a port again
 * once its listener is closed, and a test that picks a cluster port now and
 * starts a server later would then see its own monitor port land on it.
 */
const handedOut = new Set<number>();
const MAX_TRIES = 50;

/**
 * A TCP port on 127.0.0.1 that was free a moment ago and was never returned
 * before by this process: the kernel picks one when binding port 0, and the
 * listener is closed again. Another process can still take it before the
 * caller binds it, so callers retry on `EADDRINUSE`.
 */
export async function freePort(): Promise<number> {
  for (let tries = 0; tries < MAX_TRIES; tries++) {
    const port = await kernelPort();
    if (handedOut.has(port)) continue;
    handedOut.add(port);
    return port;
  }
  throw new Error(`no port the kernel offered in ${MAX_TRIES} tries was new to this process`);
}

function kernelPort(): Promise<number> {
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
