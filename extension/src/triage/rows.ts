/**
 * The triage page's rows while results arrive. Re-sorting under the reader's pointer would move
 * the row they are about to click, so while the pointer is over the list (or keyboard focus is in
 * it) rows stay where they are, with the group they were shown in; their scores still update in
 * place, and the page says that a new order is waiting. The order applies as soon as the pointer
 * leaves, or at once on request. Holding the whole list rather than pinning the hovered row keeps
 * every other row still too, which is what a reader scanning down the list needs.
 */
import { holdOrder, type TriageGroup } from '@chestaid/core';

export interface ShownRow {
  readonly id: string;
  /** The group the row is shown under (its heading); may lag its status while held. */
  readonly group: TriageGroup;
}

export function rowsToShow(shown: readonly ShownRow[], next: readonly ShownRow[], hold: boolean): ShownRow[] {
  if (!hold) return [...next];
  const before = new Map(shown.map(row => [row.id, row.group]));
  const now = new Map(next.map(row => [row.id, row.group]));
  return holdOrder(
    shown.map(row => row.id),
    next.map(row => row.id),
    true,
  ).map(id => ({ id, group: before.get(id) ?? (now.get(id) as TriageGroup) }));
}

export function sameRows(a: readonly ShownRow[], b: readonly ShownRow[]): boolean {
  return a.length === b.length && a.every((row, i) => row.id === b[i].id && row.group === b[i].group);
}
