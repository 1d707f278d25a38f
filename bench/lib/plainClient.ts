/**
 * The baseline process for start-up: plain node + nats.js, no steward, run
 * by plain `node` as the steward CLI is.
 *
 *   node plainClient.js idle <url> <subject>...   connect, subscribe, print "ready", idle until SIGTERM
 *   node plainClient.js request <url> <subject>   connect, send one request, print "first-reply", exit
 */
import { connect } from '@nats-io/transport-node';

const [mode, url, ...subjects] = process.argv.slice(2);
const nc = await connect({ servers: url });
if (mode === 'idle') {
  for (const s of subjects)
    nc.subscribe(s, {
      callback: (_err, msg) => {
        msg.respond(msg.data);
      },
    });
  await nc.flush();
  console.log('ready');
  process.on('SIGTERM', () => void nc.close().then(() => process.exit(0)));
} else if (mode === 'request' && subjects[0]) {
  await nc.request(subjects[0], new TextEncoder().encode('hello'), { timeout: 10_000 });
  console.log('first-reply');
  await nc.close();
} else {
  console.error(`usage: plainClient.js idle|request <url> <subject>...`);
  process.exit(2);
}
