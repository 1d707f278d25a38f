/**
 * Key approval as an operator does it, for tests that run nodes in secure
 * mode: `steward keys` on central's folder, approving a node's pending key
 * by the fingerprint `keys list` shows, and reading which key set a node
 * adopted from its log.
 */
import { execFileSync } from 'node:child_process';
import { stewardBin, type NodeHandle } from './stewardNode.js';

/** `steward keys <args>` run on the node folder `folder` (central's key register); its output. */
export function keysOf(folder: string, ...args: string[]): string {
  return execFileSync(process.execPath, [stewardBin, 'keys', ...args, '--nodeFolder', folder], { encoding: 'utf8' });
}

/** Approves `node`'s key at the central in `folder` the way an operator does: with the fingerprint `keys list` shows, when it shows one. */
export function approveKey(folder: string, node: string): string {
  const line = keysOf(folder, 'list')
    .split('\n')
    .find((l) => l.includes(node));
  const fingerprint = /SHA256:[A-Za-z0-9+/=_-]+/.exec(line ?? '')?.[0];
  return keysOf(folder, 'allow', node, ...(fingerprint ? [fingerprint] : []));
}

/** The trusted nodes (comma-separated) of the last key set node `n` adopted, from its log; empty before the first. */
export function adoptedKeySet(n: NodeHandle): string {
  const lines = n
    .log()
    .split('\n')
    .filter((l) => l.includes('adopted key set version'));
  return lines.length ? (lines[lines.length - 1]!.split('trusted=')[1] ?? '') : '';
}
