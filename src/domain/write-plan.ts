import { compareText } from "./compare-text.ts";
import type { DesiredSlice } from "./desired-slices.ts";
import { isOurs } from "./labels.ts";
import { sliceContentEqual, type WrittenSlice } from "./slice-content-equal.ts";

/** A slice to delete, with the UID to send as the delete precondition. */
export interface SliceDeletion {
  name: string;
  uid: string;
}

/** What the writer must do to make one Service's slices match the desired ones (SPEC M8). */
export interface SliceWritePlan {
  /** Slices to server-side apply, sorted by name. */
  apply: DesiredSlice[];
  /** Slices to delete, sorted by name. */
  delete: SliceDeletion[];
  /** Desired slices already written as they should be. */
  unchanged: number;
}

/**
 * Compares one Service's desired slices with the slices we have written for it: a desired slice
 * is applied only when no written slice of that name has the same content
 * ({@link sliceContentEqual}); a written slice whose name is not desired is deleted. Written
 * slices that are not ours ({@link isOurs}) are ignored, so a native slice is never deleted. If
 * two desired slices share a name, the first is kept.
 */
export function planSliceWrites(
  desired: readonly DesiredSlice[],
  written: readonly WrittenSlice[],
): SliceWritePlan {
  const ours = new Map<string, WrittenSlice>();
  for (const slice of written) {
    if (isOurs(slice.labels) && !ours.has(slice.name)) ours.set(slice.name, slice);
  }
  const wanted = new Map<string, DesiredSlice>();
  for (const slice of desired) {
    if (!wanted.has(slice.name)) wanted.set(slice.name, slice);
  }
  const apply: DesiredSlice[] = [];
  let unchanged = 0;
  for (const slice of wanted.values()) {
    const current = ours.get(slice.name);
    if (current !== undefined && sliceContentEqual(slice, current)) unchanged++;
    else apply.push(slice);
  }
  const deletions = [...ours.values()]
    .filter((slice) => !wanted.has(slice.name))
    .map(({ name, uid }) => ({ name, uid }));
  apply.sort((a, b) => compareText(a.name, b.name));
  deletions.sort((a, b) => compareText(a.name, b.name));
  return { apply, delete: deletions, unchanged };
}
