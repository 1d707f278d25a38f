/**
 * The journal: one SQLite file per node (WAL). It holds the outbox (every
 * message this node sends, with its delivery state and actor snapshot), the
 * inbox (every message received, with its result, for exactly-once execution)
 * and the registry of nodes seen by SayHello.
 *
 * Reads are synchronous. Writes are queued and committed together once per
 * event-loop turn (group commit): each write returns a promise that settles
 * only after its transaction is durable, so callers can "ACK after commit".
 *
 * With `sync: 'full'` the commit itself does not wait for the disk: SQLite
 * runs with `synchronous = NORMAL` (the WAL is written, not synced), and the
 * journal syncs the WAL file itself with an asynchronous `fdatasync` after
 * each commit, settling the commit's promises only when that returns. The
 * event loop keeps working while the disk syncs, and commits made meanwhile
 * share the next sync. What a promise promises is the same as SQLite's
 * `synchronous = FULL`: the transaction is in the synced WAL.
 *
 * A write that nobody waits on (`{ soon: true }`: the end of a delivery that
 * was ACKed) starts no sync of its own. It shares the next sync that a write
 * waited on starts, or one started {@link soonSyncMs} after its commit,
 * whichever comes first. Its promise still settles only once it is durable.
 * A killed process loses nothing in between (the WAL is written at the
 * commit); a power loss can lose it, and then the restart sends that message
 * again, which its receiver answers from its own journal without running it.
 */
import Database from 'better-sqlite3';
import { closeSync, fdatasync, fdatasyncSync, mkdirSync, openSync } from 'node:fs';
import { dirname } from 'node:path';
import type { AckReply } from './ack.js';
import { JournalError } from './errors.js';
import type { WireMessage } from './message.js';

/** Delivery states of an outbox message (the delivery machine's states). */
export const OutboxState = {
  Queued: 'queued',
  Sending: 'sending',
  AwaitingAck: 'awaitingAck',
  RetryWait: 'retryWait',
  Delivered: 'delivered',
  Expired: 'expired',
  /** Withdrawn by `steward cancel` before it reached the receiver, or cancelled there. Final. */
  Cancelled: 'cancelled',
} as const;
/** Delivery states of an outbox message. */
export type OutboxState = (typeof OutboxState)[keyof typeof OutboxState];

/** Execution states of an inbox message (the execution machine's states). */
export const InboxState = {
  Received: 'received',
  Running: 'running',
  Succeeded: 'succeeded',
  Failed: 'failed',
  TimedOut: 'timedOut',
  Interrupted: 'interrupted',
  Rejected: 'rejected',
  /** Cancelled by its sender: stopped while running, or never run. Final. */
  Cancelled: 'cancelled',
} as const;
/** Execution states of an inbox message. */
export type InboxState = (typeof InboxState)[keyof typeof InboxState];

const finalOutbox = `('${OutboxState.Delivered}','${OutboxState.Expired}','${OutboxState.Cancelled}')`;
const openInboxStates = `('${InboxState.Received}','${InboxState.Running}')`;

/** One message in the outbox. */
export interface OutboxRecord {
  /** Position in the node's send order. */
  seq: number;
  id: string;
  subject: string;
  message: WireMessage;
  state: OutboxState;
  /** Sends made so far. */
  attempts: number;
  reply?: AckReply;
  lastError?: string;
  createdAt: number;
  updatedAt: number;
  finishedAt?: number;
}

/** One message in the inbox. */
export interface InboxRecord {
  seq: number;
  id: string;
  subject: string;
  message: WireMessage;
  state: InboxState;
  result?: AckReply;
  /** Method-specific durable progress, e.g. a file's size before an append. */
  progress?: unknown;
  receivedAt: number;
  startedAt?: number;
  finishedAt?: number;
}

/** A message to put in the outbox. */
export interface OutboxSubmission {
  message: WireMessage;
  subject: string;
  /**
   * A key that makes the submission idempotent: a second submission with the
   * same key is not stored again (e.g. an inmsg.txt file and entry number, or
   * the id of the request a reply answers).
   */
  sourceKey?: string;
}

/** What {@link Journal.submit} tells about each submission. */
export interface SubmitResult {
  id: string;
  seq: number;
  /** True when the source key had been submitted before; nothing new was stored. */
  duplicate: boolean;
}

/** A node seen by SayHello. */
export interface NodeRecord {
  name: string;
  lastSeen: number;
  firstSeen: number;
  info: string;
}

/** Options of {@link Journal.open}. */
export interface JournalOptions {
  /**
   * SQLite `synchronous` level. `full` survives power loss; `normal` survives
   * a killed process but may lose the last commits on power loss.
   * @defaultValue 'full'
   */
  sync?: 'full' | 'normal';
  /**
   * The longest a commit of `{ soon: true }` writes alone waits for its WAL sync to start, in ms.
   * @defaultValue {@link soonSyncMs}
   */
  soonSyncMs?: number;
}

interface PendingWrite {
  run: (db: Database.Database) => unknown;
  resolve: (v: unknown) => void;
  reject: (e: unknown) => void;
  /** Nobody waits on it: its commit starts no sync of its own (see the header). */
  soon: boolean;
}

/** The longest a commit of `{ soon: true }` writes alone waits for its WAL sync to start, in ms. */
export const soonSyncMs = 20;

/** How a write is made durable. */
export interface WriteOptions {
  /** Nobody waits on it: it shares the next sync instead of starting one (see the header). */
  soon?: boolean;
}

/** Fields of an outbox record that change as the message is delivered. */
export interface OutboxPatch {
  state?: OutboxState;
  attempts?: number;
  snapshot?: unknown;
  /**
   * The snapshot, taken when the write is committed (instead of `snapshot`):
   * updates of one message queued in the same turn are merged into one write,
   * and only the last snapshot is taken and stored.
   */
  snapshotOf?: () => unknown;
  reply?: AckReply;
  lastError?: string;
  finishedAt?: number;
}

/** Fields of an inbox record that change as the message runs. */
export interface InboxPatch {
  state?: InboxState;
  result?: AckReply;
  progress?: unknown;
  startedAt?: number;
  finishedAt?: number;
}

/** The node's durable store. Owned by one node process. */
export class Journal {
  readonly path: string;
  private readonly db: Database.Database;
  private queue: PendingWrite[] = [];
  /** Outbox updates queued for the next commit, by message id: a later update of the same message merges into it. */
  private queuedOutboxUpdates = new Map<string, { patch: OutboxPatch; write: PendingWrite; done: Promise<void> }>();
  private flushScheduled = false;
  private closed = false;
  /** Whether commits are made durable by syncing the WAL here (sync 'full'), not by SQLite. */
  private readonly syncsWal: boolean;
  /** The WAL file, opened after the first commit, for its syncs. */
  private walFd?: number;
  /** Committed batches whose WAL sync has not started; settled after the next one. */
  private unsynced: Settle[] = [];
  /** Whether a batch in `unsynced` has a write that someone waits on: its sync starts at once. */
  private urgentUnsynced = false;
  /** The timer that starts the sync of `{ soon: true }` batches alone, after `soonMs`. */
  private soonTimer?: NodeJS.Timeout;
  private readonly soonMs: number;
  /** The batches the sync under way covers. */
  private syncing?: Settle[];
  private readonly statementCache = new Map<string, Database.Statement>();
  private readonly stmts;
  /** Whether the `cancels` table may hold a row (see {@link Journal.cancelOf}). */
  private mayHaveCancels: boolean;
  /** Number of committed write batches (for metrics). */
  commits = 0;
  /** Total milliseconds spent committing (for metrics). */
  commitMs = 0;
  /** Number of WAL syncs (`fdatasync`, sync 'full' only), and their total milliseconds, off the event loop (for metrics). */
  syncs = 0;
  syncMs = 0;
  /** Called after each commit with its duration and number of writes (for metrics). Must not throw. */
  onCommit?: (ms: number, writes: number) => void;

  private constructor(path: string, db: Database.Database, syncsWal: boolean, soonMs: number) {
    this.path = path;
    this.db = db;
    this.syncsWal = syncsWal;
    this.soonMs = soonMs;
    this.mayHaveCancels = db.prepare(`SELECT 1 FROM cancels LIMIT 1`).get() !== undefined;
    this.stmts = {
      insertOutbox: db.prepare(
        `INSERT INTO outbox (id, source_key, subject, message, state, attempts, created_at, updated_at)
         VALUES (@id, @sourceKey, @subject, @message, 'queued', 0, @now, @now)`,
      ),
      outboxBySource: db.prepare(`SELECT seq, id FROM outbox WHERE source_key = ?`),
      outboxById: db.prepare(`SELECT * FROM outbox WHERE id = ?`),
      openOutbox: db.prepare(`SELECT * FROM outbox WHERE subject = ? AND seq > ? AND state NOT IN ${finalOutbox} ORDER BY seq LIMIT ?`),
      // Distinct subjects by seeking the open-rows index from one subject to the next: cheap with a
      // million queued messages, where a GROUP BY would read every one of them.
      openSubjects: db.prepare(
        `WITH RECURSIVE s(subject) AS (
           SELECT (SELECT MIN(subject) FROM outbox WHERE state NOT IN ${finalOutbox})
           UNION ALL
           SELECT (SELECT MIN(subject) FROM outbox WHERE state NOT IN ${finalOutbox} AND subject > s.subject) FROM s
           WHERE s.subject IS NOT NULL
         )
         SELECT subject, (SELECT MIN(seq) FROM outbox WHERE state NOT IN ${finalOutbox} AND outbox.subject = s.subject) AS first
         FROM s WHERE subject IS NOT NULL ORDER BY first`,
      ),
      countOpenOutbox: db.prepare(`SELECT COUNT(*) AS n FROM outbox WHERE state NOT IN ${finalOutbox}`),
      countOpenSubject: db.prepare(`SELECT COUNT(*) AS n FROM outbox WHERE subject = ? AND state NOT IN ${finalOutbox}`),
      insertInbox: db.prepare(
        `INSERT INTO inbox (id, subject, message, state, received_at, answers)
         VALUES (@id, @subject, @message, 'received', @now, @answers)`,
      ),
      insertInboxRunning: db.prepare(
        `INSERT INTO inbox (id, subject, message, state, received_at, started_at, progress, answers)
         VALUES (@id, @subject, @message, 'running', @now, @now, @progress, @answers)`,
      ),
      replyTo: db.prepare(`SELECT * FROM inbox WHERE answers = ? ORDER BY seq LIMIT 1`),
      inboxById: db.prepare(`SELECT * FROM inbox WHERE id = ?`),
      inboxExists: db.prepare(`SELECT 1 FROM inbox WHERE id = ?`).pluck(),
      inboxIdsAmong: db.prepare(`SELECT id FROM inbox WHERE id IN (SELECT value FROM json_each(?))`).pluck(),
      openInbox: db.prepare(`SELECT * FROM inbox WHERE state IN ${openInboxStates} ORDER BY seq`),
      upsertNode: db.prepare(
        `INSERT INTO nodes (name, first_seen, last_seen, info) VALUES (@name, @now, @now, @info)
         ON CONFLICT(name) DO UPDATE SET last_seen = @now, info = @info`,
      ),
      listNodes: db.prepare(`SELECT * FROM nodes ORDER BY name`),
    };
  }

  /**
   * Opens (creating if needed) the journal at `path`.
   *
   * @throws {@link JournalError} when the file cannot be opened or migrated.
   */
  static open(path: string, options: JournalOptions = {}): Journal {
    try {
      mkdirSync(dirname(path), { recursive: true });
      const db = new Database(path);
      db.pragma('journal_mode = WAL');
      // `full`: SQLite writes the WAL without syncing it; the journal syncs it after each commit (see the header).
      db.pragma('synchronous = NORMAL');
      db.pragma('busy_timeout = 5000');
      migrate(db);
      return new Journal(path, db, options.sync !== 'normal', options.soonSyncMs ?? soonSyncMs);
    } catch (err) {
      throw new JournalError(`cannot open journal ${path}: ${(err as Error).message}`, { cause: err });
    }
  }

  /**
   * Stores messages in the outbox, in order. Resolves once they are durable.
   * Submissions whose `sourceKey` was seen before are reported as duplicates.
   */
  submit(items: OutboxSubmission[]): Promise<SubmitResult[]> {
    return this.write((db) => {
      const now = Date.now();
      return items.map((item) => {
        if (item.sourceKey !== undefined) {
          const prior = this.stmts.outboxBySource.get(item.sourceKey) as { seq: number; id: string } | undefined;
          if (prior) return { id: prior.id, seq: prior.seq, duplicate: true };
        }
        const info = this.stmts.insertOutbox.run({
          id: item.message.id,
          sourceKey: item.sourceKey ?? null,
          subject: item.subject,
          message: JSON.stringify(item.message),
          now,
        });
        void db;
        return { id: item.message.id, seq: Number(info.lastInsertRowid), duplicate: false };
      });
    }) as Promise<SubmitResult[]>;
  }

  /**
   * Records a change of an outbox message's delivery state. Changes of one
   * message queued before the same commit are merged (the later fields win)
   * and share its promise; the merged write is `soon` only if each was.
   */
  updateOutbox(id: string, patch: OutboxPatch, options: WriteOptions = {}): Promise<void> {
    const queued = this.queuedOutboxUpdates.get(id);
    if (queued) {
      Object.assign(queued.patch, patch);
      if (!options.soon) queued.write.soon = false;
      return queued.done;
    }
    const merged: OutboxPatch = { ...patch };
    const { done, write } = this.queueWrite(() => this.applyOutboxPatch(id, merged), options.soon === true);
    if (write) this.queuedOutboxUpdates.set(id, { patch: merged, write, done: done as Promise<void> });
    return done as Promise<void>;
  }

  private applyOutboxPatch(id: string, patch: OutboxPatch): void {
    const sets: string[] = ['updated_at = @now'];
    const params: Record<string, unknown> = { id, now: Date.now() };
    if (patch.state !== undefined) {
      sets.push('state = @state');
      params.state = patch.state;
    }
    if (patch.attempts !== undefined) {
      sets.push('attempts = @attempts');
      params.attempts = patch.attempts;
    }
    const snapshot = patch.snapshotOf ? patch.snapshotOf() : patch.snapshot;
    if (snapshot !== undefined) {
      sets.push('snapshot = @snapshot');
      params.snapshot = JSON.stringify(snapshot);
    }
    if (patch.reply !== undefined) {
      sets.push('reply = @reply');
      params.reply = JSON.stringify(patch.reply);
    }
    if (patch.lastError !== undefined) {
      sets.push('last_error = @lastError');
      params.lastError = patch.lastError;
    }
    if (patch.finishedAt !== undefined) {
      sets.push('finished_at = @finishedAt');
      params.finishedAt = patch.finishedAt;
    }
    this.prepared(`UPDATE outbox SET ${sets.join(', ')} WHERE id = @id`).run(params);
  }

  getOutbox(id: string): OutboxRecord | undefined {
    const row = this.stmts.outboxById.get(id) as OutboxRow | undefined;
    return row && toOutboxRecord(row);
  }

  /** Unfinished messages of one subject after `afterSeq`, in send order. */
  openOutbox(subject: string, afterSeq = 0, limit = 1000): OutboxRecord[] {
    return (this.stmts.openOutbox.all(subject, afterSeq, limit) as OutboxRow[]).map(toOutboxRecord);
  }

  /** Subjects that have unfinished messages, ordered by their oldest message. */
  openSubjects(): string[] {
    return (this.stmts.openSubjects.all() as { subject: string }[]).map((r) => r.subject);
  }

  /** How many unfinished messages there are, on one subject or in all. */
  countOpenOutbox(subject?: string): number {
    const row = (subject === undefined ? this.stmts.countOpenOutbox.get() : this.stmts.countOpenSubject.get(subject)) as { n: number };
    return row.n;
  }

  /** The inbox record of a received message, or undefined. */
  getInbox(id: string): InboxRecord | undefined {
    const row = this.stmts.inboxById.get(id) as InboxRow | undefined;
    return row && toInboxRecord(row);
  }

  /** Which of `ids` are in the inbox: one statement for all of them (a lookup in the id index each), nothing parsed. */
  inboxIdsAmong(ids: readonly string[]): Set<string> {
    return new Set(this.stmts.inboxIdsAmong.all(JSON.stringify(ids)) as string[]);
  }

  /** Whether message `id` is in the inbox: a lookup in the id index, nothing read or parsed. */
  hasInbox(id: string): boolean {
    return this.stmts.inboxExists.get(id) !== undefined;
  }

  /** Received messages that have not finished running, in arrival order. */
  openInbox(): InboxRecord[] {
    return (this.stmts.openInbox.all() as InboxRow[]).map(toInboxRecord);
  }

  /**
   * Stores a newly received message. Resolves once durable. `answers`: the
   * id of this node's own request that the message was taken as the reply
   * to (checked by the receiver: see {@link Journal.findReplyTo}).
   */
  insertInbox(message: WireMessage, subject: string, answers?: string): Promise<void> {
    return this.write(() => {
      this.stmts.insertInbox.run({ id: message.id, subject, message: JSON.stringify(message), now: Date.now(), answers: answers ?? null });
    }) as Promise<void>;
  }

  /**
   * Stores a received message that starts running now, with its progress,
   * in one write (a message whose receipt needs no record of its own: see the
   * subscriber). Resolves once durable.
   */
  insertInboxRunning(message: WireMessage, subject: string, progress: unknown, answers?: string): Promise<void> {
    return this.write(() => {
      const now = Date.now();
      this.stmts.insertInboxRunning.run({
        id: message.id,
        subject,
        message: JSON.stringify(message),
        now,
        progress: progress === undefined ? null : JSON.stringify(progress),
        answers: answers ?? null,
      });
    }) as Promise<void>;
  }

  /**
   * Remembers that `byNode` cancelled message `id` before it arrived here, so
   * that it is refused as cancelled if it arrives later (see
   * {@link Journal.cancelOf}). Resolves once durable.
   */
  rememberCancel(id: string, byNode: string): Promise<void> {
    this.mayHaveCancels = true;
    return this.write(() => {
      this.prepared(`INSERT OR IGNORE INTO cancels (id, by_node, at) VALUES (?, ?, ?)`).run(id, byNode, Date.now());
    }) as Promise<void>;
  }

  /** The node that cancelled message `id` before it arrived here, if one did. */
  cancelOf(id: string): string | undefined {
    // Asked for every received message: with no cancel remembered (the usual case) it costs nothing.
    if (!this.mayHaveCancels) return undefined;
    const row = this.prepared(`SELECT by_node FROM cancels WHERE id = ?`).get(id) as { by_node: string } | undefined;
    return row?.by_node;
  }

  /**
   * Stores a received message that was cancelled before it ran, with its
   * result, in one write, and forgets its remembered cancel. Resolves once
   * durable; a resend is then answered from the inbox like any finished message.
   */
  insertInboxCancelled(message: WireMessage, subject: string, result: unknown): Promise<void> {
    return this.write(() => {
      const now = Date.now();
      this.prepared(
        `INSERT INTO inbox (id, subject, message, state, result, received_at, finished_at) VALUES (?, ?, ?, 'cancelled', ?, ?, ?)`,
      ).run(message.id, subject, JSON.stringify(message), JSON.stringify(result), now, now);
      this.prepared(`DELETE FROM cancels WHERE id = ?`).run(message.id);
    }) as Promise<void>;
  }

  /**
   * Records a change of an inbox message. With `followUp`, the reply message
   * is put in the outbox in the same transaction, so a crash can never keep
   * the result and lose the reply, or the other way round.
   */
  updateInbox(id: string, patch: InboxPatch, followUp?: OutboxSubmission): Promise<void> {
    return this.write(() => {
      const sets: string[] = [];
      const params: Record<string, unknown> = { id };
      if (patch.state !== undefined) {
        sets.push('state = @state');
        params.state = patch.state;
      }
      if (patch.result !== undefined) {
        sets.push('result = @result');
        params.result = JSON.stringify(patch.result);
      }
      if (patch.progress !== undefined) {
        sets.push('progress = @progress');
        params.progress = JSON.stringify(patch.progress);
      }
      if (patch.startedAt !== undefined) {
        sets.push('started_at = @startedAt');
        params.startedAt = patch.startedAt;
      }
      if (patch.finishedAt !== undefined) {
        sets.push('finished_at = @finishedAt');
        params.finishedAt = patch.finishedAt;
      }
      if (sets.length) this.prepared(`UPDATE inbox SET ${sets.join(', ')} WHERE id = @id`).run(params);
      if (followUp) {
        const key = followUp.sourceKey;
        const prior = key === undefined ? undefined : this.stmts.outboxBySource.get(key);
        if (!prior)
          this.stmts.insertOutbox.run({
            id: followUp.message.id,
            sourceKey: key ?? null,
            subject: followUp.subject,
            message: JSON.stringify(followUp.message),
            now: Date.now(),
          });
      }
    }) as Promise<void>;
  }

  /** Records that a node said hello. */
  recordHello(name: string, info: string): Promise<void> {
    return this.write(() => {
      this.stmts.upsertNode.run({ name, now: Date.now(), info });
    }) as Promise<void>;
  }

  /** Nodes seen by SayHello, by name. */
  listNodes(): NodeRecord[] {
    return (this.stmts.listNodes.all() as { name: string; first_seen: number; last_seen: number; info: string }[]).map((r) => ({
      name: r.name,
      firstSeen: r.first_seen,
      lastSeen: r.last_seen,
      info: r.info,
    }));
  }

  /**
   * Deletes finished messages older than `beforeMs` (epoch ms) from both the
   * outbox and the inbox. An inbox id pruned here can no longer be recognised
   * as a duplicate, so keep the retention longer than any sender retries.
   */
  prune(beforeMs: number): Promise<{ outbox: number; inbox: number }> {
    return this.write((db) => {
      const outbox = db.prepare(`DELETE FROM outbox WHERE state IN ${finalOutbox} AND finished_at < ?`).run(beforeMs).changes;
      const inbox = db.prepare(`DELETE FROM inbox WHERE state NOT IN ${openInboxStates} AND finished_at < ?`).run(beforeMs).changes;
      // Nodes not heard of within the retention are decommissioned: forget them too.
      db.prepare(`DELETE FROM nodes WHERE last_seen < ?`).run(beforeMs);
      // A cancel of a message that never came is kept as long as a finished message would be.
      db.prepare(`DELETE FROM cancels WHERE at < ?`).run(beforeMs);
      return { outbox, inbox };
    }) as Promise<{ outbox: number; inbox: number }>;
  }

  /**
   * Ids of outbox and inbox messages that begin or end with `part`, at most
   * `limit` of them: lets an operator look a message up by a short id (its
   * last characters, as `watch` and `jobs` show it: see shortId; or its first
   * ones).
   */
  findIdsByPart(part: string, limit = 2): string[] {
    const rows = this.db
      .prepare(
        `SELECT id FROM outbox WHERE substr(id, 1, @n) = @part OR substr(id, -@n) = @part
         UNION SELECT id FROM inbox WHERE substr(id, 1, @n) = @part OR substr(id, -@n) = @part LIMIT @limit`,
      )
      .all({ part, n: part.length, limit }) as { id: string }[];
    return rows.map((r) => r.id);
  }

  /**
   * The first reply message (CLICommandReply, ECHOReply, ...) this node took
   * as the answer to its own request `requestId`, if any. Only replies the
   * receiver checked are found: from the node the request went to, of the
   * reply method the request asked for (a message that merely names the
   * request in `previousMessageId` is not).
   */
  findReplyTo(requestId: string): InboxRecord | undefined {
    const row = this.stmts.replyTo.get(requestId) as InboxRow | undefined;
    return row && toInboxRecord(row);
  }

  /**
   * Every inbox message stored with `answers` = `key`, in arrival order (the
   * chunks of one whole are stored under one key: see chunkedPayload.ts).
   */
  inboxAnswering(key: string): InboxRecord[] {
    return (this.prepared(`SELECT * FROM inbox WHERE answers = ? ORDER BY seq`).all(key) as InboxRow[]).map(toInboxRecord);
  }

  /** How many inbox messages are stored with `answers` = `key` (cheap: the index alone). */
  countInboxAnswering(key: string): number {
    return (this.prepared(`SELECT COUNT(*) AS n FROM inbox WHERE answers = ?`).get(key) as { n: number }).n;
  }

  /**
   * Recent outbox messages, newest first. `toNode` is a name or an SQLite GLOB
   * pattern (`*`, `?`, `[...]`), `states` a list of delivery states (`open`
   * for every unfinished one); `excludeMethods` leaves out noise such as SayHello.
   */
  recentOutbox(q: {
    states?: readonly string[];
    toNode?: string;
    method?: string;
    excludeMethods?: readonly string[];
    limit: number;
  }): OutboxRecord[] {
    const where: string[] = [];
    const params: Record<string, unknown> = { limit: q.limit };
    if (q.states && q.states.length > 0) {
      const named = q.states.filter((s) => s !== 'open');
      const parts: string[] = [];
      if (named.length > 0) {
        named.forEach((s, i) => (params[`s${i}`] = s));
        parts.push(`state IN (${named.map((_, i) => `@s${i}`).join(', ')})`);
      }
      if (q.states.includes('open')) parts.push(`state NOT IN ${finalOutbox}`);
      where.push(`(${parts.join(' OR ')})`);
    }
    if (q.toNode !== undefined) {
      where.push(`json_extract(message, '$.toNode') GLOB @toNode`);
      params.toNode = q.toNode;
    }
    if (q.method !== undefined) {
      where.push(`json_extract(message, '$.method') = @method`);
      params.method = q.method;
    }
    (q.excludeMethods ?? []).forEach((m, i) => {
      where.push(`json_extract(message, '$.method') <> @x${i}`);
      params[`x${i}`] = m;
    });
    const sql = `SELECT * FROM outbox ${where.length ? `WHERE ${where.join(' AND ')}` : ''} ORDER BY seq DESC LIMIT @limit`;
    return (this.db.prepare(sql).all(params) as OutboxRow[]).map(toOutboxRecord);
  }

  /** A prepared statement for `sql`, made once: the update statements vary only by which fields change. */
  private prepared(sql: string): Database.Statement {
    let stmt = this.statementCache.get(sql);
    if (!stmt) {
      stmt = this.db.prepare(sql);
      this.statementCache.set(sql, stmt);
    }
    return stmt;
  }

  /** Resolves when every write queued so far is durable. */
  flush(): Promise<void> {
    return this.write(() => undefined) as Promise<void>;
  }

  /** Commits what is queued, makes it durable, and closes the file. */
  close(): void {
    if (this.closed) return;
    this.commitQueued();
    this.closed = true;
    if (this.soonTimer) clearTimeout(this.soonTimer);
    this.soonTimer = undefined;
    const waiting = [...(this.syncing ?? []), ...this.unsynced];
    this.unsynced = [];
    if (waiting.length > 0) {
      // The sync under way (if any) settles them too, later: settling twice is harmless.
      let error: unknown;
      try {
        if (this.walFd !== undefined) fdatasyncSync(this.walFd);
      } catch (err) {
        error = err;
      }
      for (const settle of waiting) settle(error);
    }
    if (this.walFd !== undefined) closeSync(this.walFd);
    this.walFd = undefined;
    this.db.close();
  }

  /**
   * Settles `settle` once the WAL holding its committed batch is synced:
   * with the sync that starts next (the one under way, if any, started
   * before this commit).
   */
  private afterSync(settle: Settle, soon: boolean): void {
    if (!this.syncsWal) {
      settle(undefined);
      return;
    }
    this.unsynced.push(settle);
    if (!soon) this.urgentUnsynced = true;
    this.syncWal();
  }

  /** Starts the sync of what is committed, once someone waits on it or the soon timer fired. */
  private syncWal(): void {
    if (this.syncing || this.unsynced.length === 0 || this.closed) return;
    if (!this.urgentUnsynced) {
      // Only `soon` batches wait: the timer starts their sync, if a write waited on does not first.
      this.soonTimer ??= setTimeout(() => {
        this.soonTimer = undefined;
        if (this.unsynced.length === 0) return;
        this.urgentUnsynced = true;
        this.syncWal();
      }, this.soonMs);
      return;
    }
    if (this.soonTimer) clearTimeout(this.soonTimer);
    this.soonTimer = undefined;
    this.urgentUnsynced = false;
    if (this.walFd === undefined) {
      try {
        this.walFd = openSync(`${this.path}-wal`, 'r');
      } catch (err) {
        const failure = new JournalError(`cannot open the journal's WAL to sync it: ${(err as Error).message}`, { cause: err });
        for (const settle of this.unsynced.splice(0)) settle(failure);
        return;
      }
    }
    const group = this.unsynced;
    this.unsynced = [];
    this.syncing = group;
    const started = performance.now();
    fdatasync(this.walFd, (err) => {
      this.syncing = undefined;
      this.syncs++;
      this.syncMs += performance.now() - started;
      const failure = err ? new JournalError(`journal sync failed: ${err.message}`, { cause: err }) : undefined;
      for (const settle of group) settle(failure);
      this.syncWal();
    });
  }

  private write(run: (db: Database.Database) => unknown): Promise<unknown> {
    return this.queueWrite(run, false).done;
  }

  private queueWrite(run: (db: Database.Database) => unknown, soon: boolean): { done: Promise<unknown>; write?: PendingWrite } {
    if (this.closed) return { done: Promise.reject(new JournalError(`journal ${this.path} is closed`)) };
    let write!: PendingWrite;
    const done = new Promise((resolve, reject) => {
      write = { run, resolve, reject, soon };
      this.queue.push(write);
      if (!this.flushScheduled) {
        this.flushScheduled = true;
        // One transaction per event-loop turn: everything queued in this turn
        // shares one commit (and one fsync).
        setImmediate(() => this.commitQueued());
      }
    });
    return { done, write };
  }

  private commitQueued(): void {
    this.flushScheduled = false;
    const batch = this.queue;
    if (batch.length === 0) return;
    this.queue = [];
    this.queuedOutboxUpdates = new Map();
    let results: { ok: boolean; value: unknown }[] = [];
    const started = performance.now();
    try {
      try {
        // Usually every write succeeds: one transaction, no savepoints.
        this.db.transaction(() => {
          for (const w of batch) results.push({ ok: true, value: w.run(this.db) });
        })();
      } catch (err) {
        if (isCommitFailure(err)) throw err;
        // A write failed and the transaction was rolled back: again, each write
        // in its own savepoint, so one failing write does not undo the others.
        results = [];
        this.db.transaction(() => {
          for (const w of batch) {
            try {
              results.push({ ok: true, value: this.db.transaction(() => w.run(this.db))() });
            } catch (e) {
              results.push({ ok: false, value: e });
            }
          }
        })();
      }
    } catch (err) {
      const failure = new JournalError(`journal commit failed: ${(err as Error).message}`, { cause: err });
      for (const w of batch) w.reject(failure);
      return;
    } finally {
      const ms = performance.now() - started;
      this.commits++;
      this.commitMs += ms;
      this.onCommit?.(ms, batch.length);
    }
    this.afterSync(
      (syncError) => {
        batch.forEach((w, i) => {
          const r = results[i]!;
          if (syncError) w.reject(syncError);
          else if (r.ok) w.resolve(r.value);
          else w.reject(new JournalError(`journal write failed: ${(r.value as Error).message}`, { cause: r.value }));
        });
      },
      batch.every((w) => w.soon),
    );
  }
}

/** Settles a committed batch: with the sync's error, or undefined once it is durable. */
type Settle = (syncError: unknown) => void;

/** Whether `err` is the database refusing to write at all (full disk, I/O error), not one write's own fault. */
function isCommitFailure(err: unknown): boolean {
  const code = (err as { code?: unknown }).code;
  return typeof code === 'string' && /^SQLITE_(FULL|IOERR|READONLY|CANTOPEN|CORRUPT|NOTADB)/.test(code);
}

interface OutboxRow {
  seq: number;
  id: string;
  subject: string;
  message: string;
  state: OutboxState;
  attempts: number;
  reply: string | null;
  last_error: string | null;
  created_at: number;
  updated_at: number;
  finished_at: number | null;
}

interface InboxRow {
  seq: number;
  id: string;
  subject: string;
  message: string;
  state: InboxState;
  result: string | null;
  progress: string | null;
  received_at: number;
  started_at: number | null;
  finished_at: number | null;
}

function toOutboxRecord(r: OutboxRow): OutboxRecord {
  const rec: OutboxRecord = {
    seq: r.seq,
    id: r.id,
    subject: r.subject,
    message: JSON.parse(r.message) as WireMessage,
    state: r.state,
    attempts: r.attempts,
    createdAt: r.created_at,
    updatedAt: r.updated_at,
  };
  if (r.reply !== null) rec.reply = JSON.parse(r.reply) as AckReply;
  if (r.last_error !== null) rec.lastError = r.last_error;
  if (r.finished_at !== null) rec.finishedAt = r.finished_at;
  return rec;
}

function toInboxRecord(r: InboxRow): InboxRecord {
  const rec: InboxRecord = {
    seq: r.seq,
    id: r.id,
    subject: r.subject,
    message: JSON.parse(r.message) as WireMessage,
    state: r.state,
    receivedAt: r.received_at,
  };
  if (r.result !== null) rec.result = JSON.parse(r.result) as AckReply;
  if (r.progress !== null) rec.progress = JSON.parse(r.progress) as unknown;
  if (r.started_at !== null) rec.startedAt = r.started_at;
  if (r.finished_at !== null) rec.finishedAt = r.finished_at;
  return rec;
}

/**
 * The journal's schema version. 1: the first release. 2: `inbox.answers`,
 * the request a received reply was checked against. 3: the `cancelled`
 * outbox state (final, so the open-rows index leaves it out) and the
 * `cancels` table (cancels of messages not received yet).
 */
export const journalSchemaVersion = 3;

/**
 * Brings the file up to {@link journalSchemaVersion}, one step at a time, in
 * one transaction: an older journal is reused as it is, with its queued
 * work. A newer one is refused (a downgrade would misread it).
 */
function migrate(db: Database.Database): void {
  const version = db.pragma('user_version', { simple: true }) as number;
  if (version > journalSchemaVersion)
    throw new Error(`journal schema version ${version} is newer than this steward understands (${journalSchemaVersion})`);
  if (version === journalSchemaVersion) return;
  db.transaction(() => {
    if (version < 1) createVersion1(db);
    if (version < 2) {
      // Replies taken before version 2 were not checked: they are not answers (status shows no reply for them).
      db.exec(`ALTER TABLE inbox ADD COLUMN answers TEXT;
               CREATE INDEX IF NOT EXISTS inbox_answers ON inbox (answers) WHERE answers IS NOT NULL;`);
    }
    if (version < 3) {
      // The open-rows index names the final states: rebuilt so a cancelled message is not open.
      db.exec(`DROP INDEX IF EXISTS outbox_open;
               CREATE INDEX outbox_open ON outbox (subject, seq) WHERE state NOT IN ${finalOutbox};
               CREATE TABLE IF NOT EXISTS cancels (id TEXT PRIMARY KEY, by_node TEXT NOT NULL, at INTEGER NOT NULL);`);
    }
    db.pragma(`user_version = ${journalSchemaVersion}`);
  })();
}

/** The tables of schema version 1. */
function createVersion1(db: Database.Database): void {
  db.exec(`
    CREATE TABLE IF NOT EXISTS outbox (
      seq INTEGER PRIMARY KEY AUTOINCREMENT,
      id TEXT NOT NULL UNIQUE,
      source_key TEXT UNIQUE,
      subject TEXT NOT NULL,
      message TEXT NOT NULL,
      state TEXT NOT NULL,
      attempts INTEGER NOT NULL DEFAULT 0,
      snapshot TEXT,
      reply TEXT,
      last_error TEXT,
      created_at INTEGER NOT NULL,
      updated_at INTEGER NOT NULL,
      finished_at INTEGER
    );
    CREATE INDEX IF NOT EXISTS outbox_open ON outbox (subject, seq) WHERE state NOT IN ${finalOutbox};
    CREATE INDEX IF NOT EXISTS outbox_finished ON outbox (finished_at) WHERE finished_at IS NOT NULL;
    CREATE TABLE IF NOT EXISTS inbox (
      seq INTEGER PRIMARY KEY AUTOINCREMENT,
      id TEXT NOT NULL UNIQUE,
      subject TEXT NOT NULL,
      message TEXT NOT NULL,
      state TEXT NOT NULL,
      result TEXT,
      progress TEXT,
      received_at INTEGER NOT NULL,
      started_at INTEGER,
      finished_at INTEGER
    );
    CREATE INDEX IF NOT EXISTS inbox_open ON inbox (seq) WHERE state IN ${openInboxStates};
    CREATE TABLE IF NOT EXISTS nodes (
      name TEXT PRIMARY KEY,
      first_seen INTEGER NOT NULL,
      last_seen INTEGER NOT NULL,
      info TEXT NOT NULL DEFAULT ''
    );
  `);
}
