/**
 * The node-wide in-flight budget (delivery/inFlightBudget.ts): a first
 * message always has room, further ones only under the limit; a freed place
 * wakes the publishers that waited, first come first served, after the
 * releasing step.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { InFlightBudget, type BudgetWaiter } from '../src/delivery/inFlightBudget.js';

/** A publisher stand-in that takes one place per pump while there is room. */
function waiter(budget: InFlightBudget, name: string, woken: string[]): BudgetWaiter {
  const w: BudgetWaiter = {
    pump: () => {
      woken.push(name);
      if (budget.hasRoom(w, false)) budget.add();
    },
  };
  return w;
}

describe('InFlightBudget', () => {
  it('lets the first message of a publisher go over the limit, and further ones only under it', () => {
    const budget = new InFlightBudget(2);
    const a = waiter(budget, 'a', []);
    assert.equal(budget.hasRoom(a, false), true);
    budget.add();
    budget.add();
    assert.equal(budget.hasRoom(a, false), false, 'limit reached');
    assert.equal(budget.hasRoom(a, true), true, 'a first message always goes');
    budget.add();
    assert.equal(budget.inFlight, 3);
  });

  it('wakes waiting publishers in the order they asked, once the releasing step is over, only while there is room', async () => {
    const budget = new InFlightBudget(1);
    const woken: string[] = [];
    const [a, b, c] = ['a', 'b', 'c'].map((n) => waiter(budget, n, woken)) as [BudgetWaiter, BudgetWaiter, BudgetWaiter];
    budget.add();
    for (const w of [a, b, c]) assert.equal(budget.hasRoom(w, false), false);
    budget.release();
    assert.deepEqual(woken, [], 'not inside the releasing step');
    await new Promise<void>((resolve) => queueMicrotask(resolve));
    await new Promise<void>((resolve) => setImmediate(resolve));
    // a takes the one free place; b and c keep waiting.
    assert.deepEqual(woken, ['a']);
    assert.equal(budget.inFlight, 1);
    budget.release();
    await new Promise<void>((resolve) => setImmediate(resolve));
    assert.deepEqual(woken, ['a', 'b']);
  });

  it('does not wake a publisher that stopped', async () => {
    const budget = new InFlightBudget(1);
    const woken: string[] = [];
    const a = waiter(budget, 'a', woken);
    budget.add();
    assert.equal(budget.hasRoom(a, false), false);
    budget.forget(a);
    budget.release();
    await new Promise<void>((resolve) => setImmediate(resolve));
    assert.deepEqual(woken, []);
  });
});
