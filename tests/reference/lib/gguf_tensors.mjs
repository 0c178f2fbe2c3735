// A minimal GGUF reader for comparing files written by different tools: metadata values
// and each tensor's type, shape and data bytes (block sizes of the types the tests write).
//
// Contract: readGguf(path) -> {meta: Map<key, value>, tensors: Map<name, {type, dims, bytes}>}
// where bytes is a Buffer view of exactly the tensor's data. Throws on an unknown type.
import fs from "node:fs";

// GGML type id -> [bytes per block, elements per block]
const BLOCKS = {0: [4, 1], 1: [2, 1], 2: [18, 32], 3: [20, 32], 6: [22, 32], 7: [24, 32], 8: [34, 32],
                10: [84, 256], 11: [110, 256], 12: [144, 256], 13: [176, 256], 14: [210, 256],
                16: [66, 256], 17: [74, 256], 18: [98, 256], 19: [50, 256], 20: [18, 32], 21: [110, 256],
                22: [82, 256], 23: [136, 256], 29: [56, 256], 30: [2, 1]};

export function readGguf(file) {
  const b = fs.readFileSync(file);
  let p = 0;
  const u32 = () => { const v = b.readUInt32LE(p); p += 4; return v; };
  const u64 = () => { const v = Number(b.readBigUInt64LE(p)); p += 8; return v; };
  const str = () => { const n = u64(); const s = b.toString("utf8", p, p + n); p += n; return s; };
  const scalar = {0: [1, "readUInt8"], 1: [1, "readInt8"], 2: [2, "readUInt16LE"], 3: [2, "readInt16LE"],
                  4: [4, "readUInt32LE"], 5: [4, "readInt32LE"], 6: [4, "readFloatLE"], 7: [1, "readUInt8"],
                  12: [8, "readDoubleLE"]};
  const value = (t) => {
    if (t in scalar) { const [n, f] = scalar[t]; const v = b[f](p); p += n; return v; }
    if (t === 10 || t === 11) { const v = Number(b.readBigInt64LE(p)); p += 8; return v; }
    if (t === 8) return str();
    if (t === 9) { const et = u32(), n = u64(); return Array.from({length: n}, () => value(et)); }
    throw new Error(`${file}: unknown metadata type ${t}`);
  };
  if (b.toString("latin1", 0, 4) !== "GGUF") throw new Error(`${file}: not a GGUF file`);
  p = 4;
  u32();
  const nTensors = u64(), nKv = u64();
  const meta = new Map();
  for (let i = 0; i < nKv; ++i) { const k = str(); meta.set(k, value(u32())); }
  const infos = [];
  for (let i = 0; i < nTensors; ++i) {
    const name = str(), nd = u32();
    const dims = Array.from({length: nd}, () => u64());
    infos.push({name, dims, type: u32(), offset: u64()});
  }
  const align = meta.get("general.alignment") ?? 32;
  const data = Math.ceil(p / align) * align;
  const tensors = new Map();
  for (const t of infos) {
    const blk = BLOCKS[t.type];
    if (!blk) throw new Error(`${file}: tensor ${t.name} has a type (${t.type}) this reader does not know`);
    const n = t.dims.reduce((a, d) => a * d, 1);
    const size = n / blk[1] * blk[0];
    tensors.set(t.name, {type: t.type, dims: t.dims, bytes: b.subarray(data + t.offset, data + t.offset + size)});
  }
  return {meta, tensors};
}
