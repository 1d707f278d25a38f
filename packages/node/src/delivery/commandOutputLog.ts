/**
 * Where the output of a command sent from this node is kept: Command kinds
 * bring the output back in the ACK, and it is appended to
 * `<dataFolder>/<toNode>/<subject>.log`, beside the reply messages of Event
 * kinds, so an operator finds both in one place.
 */
import { appendFile, mkdir } from 'node:fs/promises';
import { join } from 'node:path';

/** Appends command output to its log file; one publisher's appends run one after another, so they keep the message order. @internal */
export class CommandOutputLog {
  private writes: Promise<void> = Promise.resolve();

  constructor(private readonly dataFolder: string) {}

  /** Appends `output` of a command sent on `subject` to node `toNode`; resolves once written. */
  append(toNode: string, subject: string, output: string): Promise<void> {
    const dir = join(this.dataFolder, toNode);
    const write = this.writes.then(async () => {
      await mkdir(dir, { recursive: true });
      await appendFile(join(dir, `${subject}.log`), output);
    });
    this.writes = write.catch(() => undefined);
    return write;
  }
}
