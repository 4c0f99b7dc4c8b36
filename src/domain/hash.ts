const FNV_OFFSET_BASIS = 0x811c9dc5;
const FNV_PRIME = 0x01000193;
const encoder = new TextEncoder();

/**
 * FNV-1a, 32 bits, over the UTF-8 bytes of `text`; an unsigned 32-bit integer. Not a
 * cryptographic hash: it makes short, stable suffixes for names and change records, and is
 * written here (rather than taken from `node:crypto`) so the domain stays pure and portable.
 */
export function fnv1a32(text: string): number {
  let hash = FNV_OFFSET_BASIS;
  // ASCII (names, addresses): its UTF-8 bytes are its char codes; no encoding, no allocation.
  let ascii = true;
  for (let i = 0; i < text.length; i++) {
    const code = text.charCodeAt(i);
    if (code > 0x7f) {
      ascii = false;
      break;
    }
    hash ^= code;
    hash = Math.imul(hash, FNV_PRIME);
  }
  if (ascii) return hash >>> 0;
  hash = FNV_OFFSET_BASIS;
  for (const byte of encoder.encode(text)) {
    hash ^= byte;
    hash = Math.imul(hash, FNV_PRIME);
  }
  return hash >>> 0;
}

/** {@link fnv1a32} as exactly 8 lowercase hexadecimal digits. */
export function fnv1a32Hex(text: string): string {
  return fnv1a32(text).toString(16).padStart(8, "0");
}
