// End-to-end tests of `r1 inspect` on safetensors: a single file, a sharded directory
// (model.safetensors.index.json), an FP8 block-scaled weight, and hostile files (the
// error contract: one "r1: ..." line on stderr naming the file, the tensor and the
// problem, nothing on stdout, non-zero exit).
//
// The files are written here, by a small writer that follows the format's README
// (u64 little-endian header length, JSON header, data buffer); the expected counts
// and sizes are computed from the shapes written. No npm package in
// tests/reference/node_modules parses safetensors (only @huggingface/jinja is there),
// so there is no second reader to compare with.
//
// Environment: R1_BIN (the built r1; skipped without it), R1_TMP (scratch directory).
import {test, before} from "node:test";
import assert from "node:assert/strict";
import {spawnSync} from "node:child_process";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import {r1, ok, fails, R1_BIN, skip} from "./cli_util.mjs";

const TMP = path.join(process.env.R1_TMP || os.tmpdir(), "inspect-safetensors");

const DTYPE_BYTES = {F32: 4, F16: 2, BF16: 2, F8_E4M3: 1, I64: 8, U8: 1};

// tensors: [{name, dtype, shape, bytes?: Buffer}] in data order; metadata: {string: string}.
function safetensors(tensors, metadata) {
  const header = {};
  if (metadata) header.__metadata__ = metadata;
  let offset = 0;
  const parts = [];
  for (const t of tensors) {
    const n = t.shape.reduce((a, b) => a * b, 1) * DTYPE_BYTES[t.dtype];
    const data = t.bytes ?? Buffer.alloc(n);
    assert.equal(data.length, n);
    header[t.name] = {dtype: t.dtype, shape: t.shape, data_offsets: [offset, offset + n]};
    offset += n;
    parts.push(data);
  }
  let json = JSON.stringify(header);
  json += " ".repeat((8 - (json.length % 8)) % 8);  // the reference writer pads to 8 bytes
  const len = Buffer.alloc(8);
  len.writeBigUInt64LE(BigInt(Buffer.byteLength(json)));
  return Buffer.concat([len, Buffer.from(json), ...parts]);
}

function rawFile(header, data = Buffer.alloc(0)) {
  const len = Buffer.alloc(8);
  len.writeBigUInt64LE(BigInt(Buffer.byteLength(header)));
  return Buffer.concat([len, Buffer.from(header), data]);
}

const single = path.join(TMP, "single.safetensors");
const shardDir = path.join(TMP, "sharded");
const fp8 = path.join(TMP, "fp8.safetensors");

before(() => {
  if (skip) return;
  fs.rmSync(TMP, {recursive: true, force: true});
  fs.mkdirSync(shardDir, {recursive: true});
  const f32 = Buffer.alloc(16);
  [1, -2, 0.5, 3].forEach((v, i) => f32.writeFloatLE(v, 4 * i));
  fs.writeFileSync(single, safetensors([
    {name: "model.embed_tokens.weight", dtype: "BF16", shape: [8, 4]},
    {name: "model.norm.weight", dtype: "F32", shape: [4], bytes: f32},
    {name: "step", dtype: "I64", shape: []},
  ], {format: "pt"}));
  fs.writeFileSync(path.join(shardDir, "model-00001-of-00002.safetensors"), safetensors([
    {name: "a.weight", dtype: "F16", shape: [3, 5]},
    {name: "b.weight", dtype: "F16", shape: [5]},
  ], {format: "pt"}));
  fs.writeFileSync(path.join(shardDir, "model-00002-of-00002.safetensors"), safetensors([
    {name: "c.weight", dtype: "BF16", shape: [2, 2, 2]},
  ], {format: "pt"}));
  fs.writeFileSync(path.join(shardDir, "model.safetensors.index.json"), JSON.stringify({
    metadata: {total_size: 30 + 10 + 16},
    weight_map: {
      "a.weight": "model-00001-of-00002.safetensors",
      "c.weight": "model-00002-of-00002.safetensors",
      "b.weight": "model-00001-of-00002.safetensors",
    },
  }));
  // An F8_E4M3 [130, 260] weight and its F32 [2, 3] block scales (128 x 128 blocks).
  fs.writeFileSync(fp8, safetensors([
    {name: "mlp.down_proj.weight", dtype: "F8_E4M3", shape: [130, 260]},
    {name: "mlp.down_proj.weight_scale_inv", dtype: "F32", shape: [2, 3]},
  ]));
});

test("a single file: tensors, totals, metadata (JSON and text)", {skip}, () => {
  const j = JSON.parse(ok(["inspect", "--json", single]).stdout);
  assert.equal(j.format, "safetensors");
  assert.equal(j.index, null);
  assert.equal(j.shards.length, 1);
  assert.deepEqual(j.shards[0].metadata, {format: "pt"});
  assert.equal(j.shards[0].bytes, fs.statSync(single).size);
  assert.deepEqual(j.tensors.map((t) => [t.name, t.dtype, t.shape, t.bytes]), [
    ["model.embed_tokens.weight", "BF16", [8, 4], 64],
    ["model.norm.weight", "F32", [4], 16],
    ["step", "I64", [], 8],
  ]);
  assert.equal(j.n_params, 32 + 4 + 1);
  assert.equal(j.weight_bytes, 64 + 16 + 8);
  assert.deepEqual(j.dtypes.BF16, {tensors: 1, n_elements: 32, bytes: 64});
  assert.deepEqual(j.dtypes.I64, {tensors: 1, n_elements: 1, bytes: 8});
  const text = ok(["inspect", single]).stdout;
  assert.match(text, /^file: .*single\.safetensors \(safetensors, 1 shard, /);
  assert.match(text, /metadata \(1 keys\):\n  format  pt\n/);
  assert.match(text, /model\.embed_tokens\.weight\s+BF16\s+\[8, 4\]\s+64\n/);
  assert.match(text, /step\s+I64\s+\[\]\s+8\n/);
  assert.match(text, /parameters: 37 \(37\)/);
  assert.match(text, /weights: 88 B \(88 bytes\)/);
  // -m works as the positional argument does.
  assert.deepEqual(JSON.parse(ok(["inspect", "--json", "-m", single]).stdout), j);
});

test("a sharded directory and its index: one table over the shards", {skip}, () => {
  const j = JSON.parse(ok(["inspect", "--json", shardDir]).stdout);
  assert.equal(j.index, path.join(shardDir, "model.safetensors.index.json"));
  assert.deepEqual(j.index_metadata, {total_size: 56});
  assert.deepEqual(j.shards.map((s) => [path.basename(s.file), s.tensors]),
                   [["model-00001-of-00002.safetensors", 2], ["model-00002-of-00002.safetensors", 1]]);
  assert.deepEqual(j.tensors.map((t) => [t.name, t.dtype, t.bytes, t.shard]), [
    ["a.weight", "F16", 30, "model-00001-of-00002.safetensors"],
    ["b.weight", "F16", 10, "model-00001-of-00002.safetensors"],
    ["c.weight", "BF16", 16, "model-00002-of-00002.safetensors"],
  ]);
  assert.equal(j.n_params, 15 + 5 + 8);
  assert.equal(j.weight_bytes, 56);  // = the index's total_size
  assert.deepEqual(JSON.parse(ok(["inspect", "--json", path.join(shardDir, "model.safetensors.index.json")]).stdout), j);
  const text = ok(["inspect", shardDir]).stdout;
  assert.match(text, /shards \(2\):/);
  assert.match(text, /c\.weight\s+BF16\s+\[2, 2, 2\]\s+16  model-00002-of-00002\.safetensors\n/);
});

test("FP8 block scales are listed and not counted as parameters", {skip}, () => {
  const j = JSON.parse(ok(["inspect", "--json", fp8]).stdout);
  assert.equal(j.n_params, 130 * 260);
  assert.equal(j.n_block_scales, 6);
  assert.deepEqual(j.dtypes.F8_E4M3, {tensors: 1, n_elements: 33800, bytes: 33800});
  assert.match(ok(["inspect", fp8]).stdout, /fp8 block scales: 1 tensors, 6 elements/);
});

test("hostile files and indexes are refused with one line naming the problem", {skip}, () => {
  const bad = (name, bytes) => {
    const p = path.join(TMP, name);
    fs.writeFileSync(p, bytes);
    return p;
  };
  const huge = Buffer.alloc(16);
  huge.writeBigUInt64LE(1n << 40n);
  fails(["inspect", bad("huge.safetensors", huge)], /huge\.safetensors: header length 1099511627776 exceeds the limit/);
  fails(["inspect", bad("overlap.safetensors", rawFile(
      '{"a":{"dtype":"F32","shape":[2],"data_offsets":[0,8]},"b":{"dtype":"F32","shape":[2],"data_offsets":[4,12]}}',
      Buffer.alloc(12)))], /tensor "b" \[4, 12\] overlaps tensor "a" \[0, 8\]/);
  fails(["inspect", bad("outside.safetensors", rawFile('{"a":{"dtype":"F32","shape":[4],"data_offsets":[0,16]}}',
                                                       Buffer.alloc(8)))],
        /tensor "a": data_offsets \[0, 16\] run past the end of the 8-byte data buffer/);
  fails(["inspect", bad("dtype.safetensors", rawFile('{"a":{"dtype":"Q4_K","shape":[1],"data_offsets":[0,1]}}',
                                                     Buffer.alloc(1)))], /tensor "a": unknown dtype "Q4_K"/);
  fails(["inspect", bad("size.safetensors", rawFile('{"a":{"dtype":"F16","shape":[3],"data_offsets":[0,4]}}',
                                                    Buffer.alloc(4)))],
        /tensor "a": data_offsets \[0, 4\] hold 4 bytes but shape \[3\] of F16 needs 6/);
  const hostileDir = path.join(TMP, "hostile");
  fs.mkdirSync(hostileDir, {recursive: true});
  fs.writeFileSync(path.join(hostileDir, "model.safetensors.index.json"),
                   JSON.stringify({weight_map: {"a.weight": "../single.safetensors"}}));
  fails(["inspect", hostileDir], /weight_map "a\.weight" names shard "\.\.\/single\.safetensors", which is not a plain file name/);
});
