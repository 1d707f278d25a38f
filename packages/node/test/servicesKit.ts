/**
 * A node's services built from real parts, for unit tests of the logic that
 * uses them without a running node: a real journal on a temp SQLite file, a
 * real ErrorKernel, Metrics and AuditLog, and a broker connection to a real
 * test nats-server (from the shared test kit).
 */
import { PassThrough } from 'node:stream';
import { Journal } from '@steward/core';
import { makeTempDir, removeTempDirs } from '../../../test/helpers/tempDir.js';
import { startNatsServer, type NatsServerHandle } from '../../../test/helpers/natsServer.js';
import { connectBroker } from '../src/node/brokerChoice.js';
import { defaultConfig, type NodeConfig } from '../src/node/config.js';
import { ErrorKernel } from '../src/node/errorKernel.js';
import { NodeServices } from '../src/node/services.js';
import { AuditLog } from '../src/observability/audit.js';
import { createLogger } from '../src/observability/logger.js';
import { Metrics } from '../src/observability/metrics.js';

/** Real services of node `node`, their log lines, and their cleanup. */
export interface ServicesKit {
  s: NodeServices;
  server: NatsServerHandle;
  /** The log lines written so far (JSON), once winston has flushed. */
  lines: () => Promise<Record<string, unknown>[]>;
  close: () => Promise<void>;
}

/** Starts a nats-server and builds the services of node `node` in a new temp folder; `tune` changes the config first. */
export async function servicesKit(node: string, tune: (c: NodeConfig) => void = () => undefined): Promise<ServicesKit> {
  const dir = await makeTempDir(`kit-${node}-`);
  const server = await startNatsServer();
  const c: NodeConfig = { ...defaultConfig(node, dir), brokerAddresses: [server.hostPort] };
  tune(c);
  const stream = new PassThrough();
  let text = '';
  stream.on('data', (chunk: Buffer) => (text += chunk.toString()));
  const log = createLogger({ node, format: 'json', stream, level: 'debug' });
  const journal = Journal.open(c.journalPath, { sync: c.journalSync });
  const metrics = new Metrics(node);
  const errors = new ErrorKernel(node, log);
  const broker = connectBroker(c, log, { addresses: c.brokerAddresses });
  broker.start();
  await broker.ready();
  const s = new NodeServices(c, log, journal, broker, errors, new AuditLog(c.auditPath), metrics);
  return {
    s,
    server,
    lines: async () => {
      await new Promise((r) => setImmediate(r));
      return text
        .split('\n')
        .filter(Boolean)
        .map((l) => JSON.parse(l) as Record<string, unknown>);
    },
    close: async () => {
      await broker.close();
      journal.close();
      await server.stop();
      await removeTempDirs([dir]);
    },
  };
}
