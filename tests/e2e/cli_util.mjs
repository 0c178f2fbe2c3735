// What the CLI end-to-end tests share: running the built r1 (R1_BIN) and its error
// contract. Import from the *.test.mjs files; not a test itself.
//   r1(args, {input, env, timeout})  -> {code, stdout, stderr, signal} (never throws on exit codes)
//   ok(args, opts)                   -> the same, asserting exit 0
//   fails(args, pattern, opts)       -> the stderr line, asserting the error contract: a
//                                       non-zero exit (not a signal), exactly one stderr line
//                                       "r1: ..." matching `pattern`, nothing on stdout
//   leftovers(dir, base)             -> files in dir starting with `base` other than base
//                                       itself (a writer's temporary files)
import assert from "node:assert/strict";
import {spawnSync} from "node:child_process";
import fs from "node:fs";

export const R1_BIN = process.env.R1_BIN;
export const skip = R1_BIN ? false : "R1_BIN is not set";

export function r1(args, {input, env, timeout = 120000} = {}) {
  const res = spawnSync(R1_BIN, args, {
    input: input ?? "",
    encoding: "utf8",
    env: {...process.env, NO_COLOR: "", ...env},
    timeout,
    maxBuffer: 256 << 20,
  });
  if (res.error) throw res.error;
  return {code: res.status, stdout: res.stdout, stderr: res.stderr, signal: res.signal};
}

export function ok(args, opts) {
  const r = r1(args, opts);
  assert.equal(r.code, 0, `r1 ${args.join(" ")} failed (${r.code ?? r.signal}):\n${r.stderr}`);
  return r;
}

export function fails(args, pattern, opts) {
  const r = r1(args, opts);
  assert.notEqual(r.code, 0, `r1 ${args.join(" ")} should fail; stdout:\n${r.stdout.slice(0, 300)}`);
  assert.ok(r.code !== null && r.code > 0, `r1 ${args.join(" ")} died of signal ${r.signal}`);
  const lines = r.stderr.split("\n").filter((l) => l.length > 0);
  assert.equal(lines.length, 1, `one stderr line expected, got:\n${r.stderr}`);
  assert.match(lines[0], /^r1: \S/);
  if (pattern) assert.match(lines[0], pattern);
  assert.equal(r.stdout, "");
  return lines[0];
}

export function leftovers(dir, base) {
  return fs.readdirSync(dir).filter((f) => f.startsWith(base) && f !== base);
}
