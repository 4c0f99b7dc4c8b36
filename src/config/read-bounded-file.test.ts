import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import { mkdtempSync, rmSync, symlinkSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { after, test } from "node:test";
import { readBoundedFile, readBoundedFileSync } from "./read-bounded-file.ts";

const folder = mkdtempSync(path.join(tmpdir(), "kubeburst-read-"));
after(() => rmSync(folder, { recursive: true, force: true }));

const small = path.join(folder, "small");
writeFileSync(small, "0123456789");
const link = path.join(folder, "link");
symlinkSync(small, link);
const fifo = path.join(folder, "fifo");
execFileSync("mkfifo", [fifo]);

const cases: { name: string; file: string; max: number; want: string }[] = [
  { name: "a small file", file: small, max: 10, want: "0123456789" },
  { name: "through a symbolic link", file: link, max: 1024, want: "0123456789" },
  { name: "one byte over", file: small, max: 9, want: "it is larger than 9 bytes, the limit" },
  { name: "missing", file: path.join(folder, "nope"), max: 10, want: "no such file" },
  { name: "a folder", file: folder, max: 10, want: "it is a directory" },
  {
    name: "under a file",
    file: path.join(small, "x"),
    max: 10,
    want: "a folder in its path is a file",
  },
  {
    name: "an endless device",
    file: "/dev/zero",
    max: 1024 * 1024,
    want: "it is a character device, not a regular file",
  },
  {
    name: "a named pipe, without waiting for a writer",
    file: fifo,
    max: 10,
    want: "it is a named pipe, not a regular file",
  },
];

test("readBoundedFileSync reads regular files within the limit and refuses the rest", () => {
  for (const { name, file, max, want } of cases) {
    const result = readBoundedFileSync(file, max);
    assert.equal(result.ok ? result.bytes.toString() : result.reason, want, name);
  }
});

test("readBoundedFile does the same without blocking", async () => {
  for (const { name, file, max, want } of cases) {
    const result = await readBoundedFile(file, max);
    assert.equal(result.ok ? result.bytes.toString() : result.reason, want, name);
  }
});
