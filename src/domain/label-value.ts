/** Longest value Kubernetes accepts for a label (and for a DNS label). */
export const MAX_LABEL_VALUE_LENGTH = 63;

const LABEL_VALUE = /^(?:[A-Za-z0-9](?:[-A-Za-z0-9_.]*[A-Za-z0-9])?)?$/;

/**
 * True when `value` is a valid Kubernetes label value: at most 63 characters, empty or starting and
 * ending with an alphanumeric, with `-`, `_` and `.` allowed in between.
 */
export function isValidLabelValue(value: string): boolean {
  return value.length <= MAX_LABEL_VALUE_LENGTH && LABEL_VALUE.test(value);
}
