// Rewrites the metadata of a GGUF file (v2/v3, little-endian) and keeps its
// tensors: the test-side way to give a model written by `r1 gen-model` another
// tokenizer.ggml.pre or other merges, which gen-model has no option for.
//
// Contracts:
//   readGguf(path)            -> {kv: Map<key, {type, raw: Buffer}>, ...}; raw is the encoded value
//   getString(g, key)         -> string (the value must be a GGUF string)
//   getStrings(g, key)        -> string[] (the value must be an array of strings)
//   setString(g, key, s)      replaces or adds a string value
//   setStrings(g, key, arr)   replaces or adds an array of strings
//   writeGguf(g, path)        writes header, metadata, tensor infos, padding to
//                             general.alignment (default 32), then the tensor data
//                             unchanged (tensor offsets are relative to the data)
import fs from 'node:fs';

const T_STRING = 8, T_ARRAY = 9;
const SCALAR_SIZE = {0: 1, 1: 1, 2: 2, 3: 2, 4: 4, 5: 4, 6: 4, 7: 1, 10: 8, 11: 8, 12: 8};

class Reader {
  constructor(buf) {
    this.buf = buf;
    this.at = 0;
  }
  u32() {
    const v = this.buf.readUInt32LE(this.at);
    this.at += 4;
    return v;
  }
  u64() {
    const v = this.buf.readBigUInt64LE(this.at);
    this.at += 8;
    return Number(v);
  }
  str() {
    const n = this.u64();
    const s = this.buf.toString('utf8', this.at, this.at + n);
    this.at += n;
    return s;
  }
  // Skips one value of the given type.
  skip(type) {
    if (type === T_STRING) {
      const n = this.u64();  // (not `this.at += this.u64()`: that adds to the old offset)
      this.at += n;
    } else if (type === T_ARRAY) {
      const et = this.u32(), n = this.u64();
      if (et === T_STRING || et === T_ARRAY) for (let i = 0; i < n; i++) this.skip(et);
      else this.at += n * SCALAR_SIZE[et];
    } else if (type in SCALAR_SIZE) {
      this.at += SCALAR_SIZE[type];
    } else {
      throw new Error(`GGUF value type ${type} unknown`);
    }
  }
}

const u32 = (v) => {
  const b = Buffer.alloc(4);
  b.writeUInt32LE(v);
  return b;
};
const u64 = (v) => {
  const b = Buffer.alloc(8);
  b.writeBigUInt64LE(BigInt(v));
  return b;
};
const encStr = (s) => {
  const b = Buffer.from(s, 'utf8');
  return Buffer.concat([u64(b.length), b]);
};

export function readGguf(path) {
  const buf = fs.readFileSync(path);
  const r = new Reader(buf);
  if (buf.toString('latin1', 0, 4) !== 'GGUF') throw new Error(`${path}: not a GGUF file`);
  r.at = 4;
  const version = r.u32();
  if (version < 2) throw new Error(`${path}: GGUF version ${version} not supported`);
  const nTensors = r.u64(), nKv = r.u64();
  const kv = new Map();
  for (let i = 0; i < nKv; i++) {
    const key = r.str(), type = r.u32(), start = r.at;
    r.skip(type);
    kv.set(key, {type, raw: buf.subarray(start, r.at)});
  }
  const infoStart = r.at;
  for (let i = 0; i < nTensors; i++) {
    r.str();
    const nDims = r.u32();
    r.at += 8 * nDims + 4 + 8;  // dims, type, offset
  }
  const tensorInfos = buf.subarray(infoStart, r.at);
  const align = alignment(kv);
  const dataStart = Math.ceil(r.at / align) * align;
  return {version, nTensors, kv, tensorInfos, data: buf.subarray(dataStart)};
}

function alignment(kv) {
  const a = kv.get('general.alignment');
  return a && a.type === 4 ? a.raw.readUInt32LE(0) : 32;
}

export function getString(g, key) {
  const v = g.kv.get(key);
  if (!v || v.type !== T_STRING) throw new Error(`${key} is not a string`);
  return v.raw.toString('utf8', 8);
}

export function getStrings(g, key) {
  const v = g.kv.get(key);
  if (!v || v.type !== T_ARRAY || v.raw.readUInt32LE(0) !== T_STRING) throw new Error(`${key} is not a string array`);
  const r = new Reader(v.raw);
  r.at = 4;
  const n = r.u64(), out = [];
  for (let i = 0; i < n; i++) out.push(r.str());
  return out;
}

export function setString(g, key, s) {
  g.kv.set(key, {type: T_STRING, raw: encStr(s)});
}

export function setStrings(g, key, arr) {
  g.kv.set(key, {type: T_ARRAY, raw: Buffer.concat([u32(T_STRING), u64(arr.length), ...arr.map(encStr)])});
}

export function writeGguf(g, path) {
  const parts = [Buffer.from('GGUF', 'latin1'), u32(g.version), u64(g.nTensors), u64(g.kv.size)];
  for (const [key, {type, raw}] of g.kv) parts.push(encStr(key), u32(type), raw);
  parts.push(g.tensorInfos);
  const head = Buffer.concat(parts);
  const align = alignment(g.kv);
  const pad = Buffer.alloc((align - (head.length % align)) % align);
  fs.writeFileSync(path, Buffer.concat([head, pad, g.data]));
}
