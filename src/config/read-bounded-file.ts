import { closeSync, constants, fstatSync, openSync, readSync, type Stats } from "node:fs";
import { open } from "node:fs/promises";
import { shorten } from "./quote.ts";

/** A file's bytes, or why they were not read (a reason a person can act on, without the path). */
export type BoundedReadResult = { ok: true; bytes: Buffer } | { ok: false; reason: string };

/** One mebibyte, the unit of the read limits. */
export const MIB = 1024 * 1024;

/**
 * O_NONBLOCK: opening a FIFO for reading would otherwise wait for a writer forever. On a
 * regular file it changes nothing, and anything else is refused before a byte is read.
 */
const OPEN_FLAGS = constants.O_RDONLY | constants.O_NONBLOCK;

function notRegular(stats: Stats): string | undefined {
  if (stats.isFile()) return undefined;
  if (stats.isDirectory()) return "it is a directory";
  const kind = stats.isCharacterDevice()
    ? "a character device"
    : stats.isBlockDevice()
      ? "a block device"
      : stats.isFIFO()
        ? "a named pipe"
        : stats.isSocket()
          ? "a socket"
          : "not a file";
  return `it is ${kind}, not a regular file`;
}

function sizeText(bytes: number): string {
  return bytes % MIB === 0 ? `${bytes / MIB} MiB` : `${bytes} bytes`;
}

function tooLarge(maxBytes: number): BoundedReadResult {
  return { ok: false, reason: `it is larger than ${sizeText(maxBytes)}, the limit` };
}

function failure(error: unknown): BoundedReadResult {
  const code = error instanceof Error && "code" in error ? error.code : undefined;
  const reasons: Record<string, string> = {
    ENOENT: "no such file",
    EACCES: "permission denied",
    EPERM: "permission denied",
    EISDIR: "it is a directory",
    ENOTDIR: "a folder in its path is a file",
    ENXIO: "it is a socket or a device without a reader, not a regular file",
    ELOOP: "too many symbolic links",
    ENAMETOOLONG: "the path is too long",
  };
  const known = typeof code === "string" ? reasons[code] : undefined;
  const reason = known ?? shorten(error instanceof Error ? error.message : String(error));
  return { ok: false, reason };
}

/**
 * Reads the regular file at `path` (symbolic links followed), at most `maxBytes` bytes: a
 * directory, device (`/dev/zero`), named pipe or socket is refused before anything is read, and
 * so is a file larger than `maxBytes`, including one that grows past it while it is read. Never
 * throws.
 */
export function readBoundedFileSync(path: string, maxBytes: number): BoundedReadResult {
  let fd: number;
  try {
    fd = openSync(path, OPEN_FLAGS);
  } catch (error) {
    return failure(error);
  }
  try {
    const stats = fstatSync(fd);
    const reason = notRegular(stats);
    if (reason !== undefined) return { ok: false, reason };
    if (stats.size > maxBytes) return tooLarge(maxBytes);
    // One byte more than allowed tells a file at the limit from one past it.
    const buffer = Buffer.alloc(maxBytes + 1);
    let length = 0;
    while (length < buffer.length) {
      const read = readSync(fd, buffer, length, buffer.length - length, null);
      if (read === 0) break;
      length += read;
    }
    if (length > maxBytes) return tooLarge(maxBytes);
    return { ok: true, bytes: buffer.subarray(0, length) };
  } catch (error) {
    return failure(error);
  } finally {
    try {
      closeSync(fd);
    } catch {
      // Closing a descriptor opened for reading loses nothing; the result stands.
    }
  }
}

/** {@link readBoundedFileSync} without blocking the event loop. Never rejects. */
export async function readBoundedFile(path: string, maxBytes: number): Promise<BoundedReadResult> {
  let handle: Awaited<ReturnType<typeof open>>;
  try {
    handle = await open(path, OPEN_FLAGS);
  } catch (error) {
    return failure(error);
  }
  try {
    const stats = await handle.stat();
    const reason = notRegular(stats);
    if (reason !== undefined) return { ok: false, reason };
    if (stats.size > maxBytes) return tooLarge(maxBytes);
    const buffer = Buffer.alloc(maxBytes + 1);
    let length = 0;
    while (length < buffer.length) {
      const { bytesRead } = await handle.read(buffer, length, buffer.length - length, null);
      if (bytesRead === 0) break;
      length += bytesRead;
    }
    if (length > maxBytes) return tooLarge(maxBytes);
    return { ok: true, bytes: buffer.subarray(0, length) };
  } catch (error) {
    return failure(error);
  } finally {
    // Closing a descriptor opened for reading loses nothing; the result stands.
    await handle.close().catch(() => {});
  }
}
