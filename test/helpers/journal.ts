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
