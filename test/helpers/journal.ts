/** Reading a node's journal from a test, read-only, beside the running node. */
import { join } from 'node:path';
import Database from 'better-sqlite3';
import type { NodeHandle } from './stewardNode.js';

/** Runs a query on a node's journal (`state/journal.db`), opened read-only for the call. */
export function queryJournal<T>(node: NodeHandle, sql: string, ...params: unknown[]): T[] {
  const db = new Database(join(node.folder, 'state', 'journal.db'), { readonly: true, fileMustExist: true });
  try {
    return db.prepare(sql).all(...params) as T[];
  } finally {
    db.close();
  }
}

/** An outbox row with its JSON columns parsed. */
export interface OutboxRow<M, R> {
  id: string;
  subject: string;
  state: string;
  attempts: number;
  message: M;
  reply: R | undefined;
  lastError: string | null;
  finishedAt: number | null;
}

/** An inbox row with its JSON columns parsed. */
export interface InboxRow<M, R> {
  id: string;
  subject: string;
  state: string;
  message: M;
  result: R | undefined;
  receivedAt: number;
  startedAt: number | null;
  finishedAt: number | null;
}

interface RawOutbox {
  id: string;
  subject: string;
  state: string;
  attempts: number;
  message: string;
  reply: string | null;
  last_error: string | null;
  finished_at: number | null;
}

interface RawInbox {
  id: string;
  subject: string;
  state: string;
  message: string;
  result: string | null;
  received_at: number;
  started_at: number | null;
  finished_at: number | null;
}

/** A node's outbox, oldest first, typed with the test's own message and reply shapes. */
export function outboxRows<M, R>(node: NodeHandle): OutboxRow<M, R>[] {
  return queryJournal<RawOutbox>(
    node,
    'SELECT id, subject, state, attempts, message, reply, last_error, finished_at FROM outbox ORDER BY seq',
  ).map((r) => ({
    id: r.id,
    subject: r.subject,
    state: r.state,
    attempts: r.attempts,
    message: JSON.parse(r.message) as M,
    reply: r.reply === null ? undefined : (JSON.parse(r.reply) as R),
    lastError: r.last_error,
    finishedAt: r.finished_at,
  }));
}

/** A node's inbox, oldest first. */
export function inboxRows<M, R>(node: NodeHandle): InboxRow<M, R>[] {
  return queryJournal<RawInbox>(
    node,
    'SELECT id, subject, state, message, result, received_at, started_at, finished_at FROM inbox ORDER BY seq',
  ).map((r) => ({
    id: r.id,
    subject: r.subject,
    state: r.state,
    message: JSON.parse(r.message) as M,
    result: r.result === null ? undefined : (JSON.parse(r.result) as R),
    receivedAt: r.received_at,
    startedAt: r.started_at,
    finishedAt: r.finished_at,
  }));
}
