// `r1 serve` against single hostile requests: each one must get a well-formed answer
// (200, or a 4xx naming the field) and leave the process alive and serving (/health
// answers after every one). Covers: top-logprob ids past the tokenizer's vocabulary
// (a model with more embedding rows than tokens), streamed and not; JSON type errors
// in every field; an explicit seed 4294967295; one request asking for more choices
// than its share of the queue; prompts that are empty, out of range or too long.
// Environment: R1_BIN, R1_TMP, R1_SOURCE_DIR (set by ctest).
import {test, before, after} from "node:test";
import assert from "node:assert/strict";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import {R1_BIN, SOURCE_DIR, cli, client, http, makeModel, startServer} from "./serve_util.mjs";

const skip = R1_BIN ? false : "R1_BIN is not set";
const TMP = path.join(process.env.R1_TMP || os.tmpdir(), "serve-hostile");
let MODEL, SHORT_VOCAB_MODEL;
const servers = [];
async function start(model, args) {
  const s = await startServer(model, args);
  servers.push(s);
  return s;
}

// --- A GGUF whose tokenizer has fewer tokens than the model has embedding rows. ---
// gen-model pads the vocabulary with "[PAD<id>]" tokens up to the embedding rows; this
// rewrites the file with that padding dropped from tokenizer.ggml.tokens / token_type /
// scores (tensor infos and data unchanged, the data re-aligned), as a converter that
// does not pad would write it. Returns the number of tokens kept.
function dropVocabPadding(src, dst) {
  const b = fs.readFileSync(src);
  let o = 0;
  const u32 = () => ((o += 4), b.readUInt32LE(o - 4));
  const u64 = () => ((o += 8), Number(b.readBigUInt64LE(o - 8)));
  const str = () => {
    const n = u64();
    o += n;
    return b.toString("utf8", o - n, o);
  };
  const size = {0: 1, 1: 1, 2: 2, 3: 2, 4: 4, 5: 4, 6: 4, 7: 1, 10: 8, 11: 8, 12: 8};
  const skipValue = (t) => {
    if (t === 8) str();
    else if (t === 9) {
      const et = u32(), n = u64();
      for (let i = 0; i < n; ++i) skipValue(et);
    } else o += size[t];
  };
  assert.equal(b.toString("latin1", 0, 4), "GGUF");
  o = 8;
  const nTensors = u64(), nKv = u64();
  const kvs = [];
  let alignment = 32, tokens = null;
  for (let i = 0; i < nKv; ++i) {
    const start = o, key = str(), type = u32(), valueAt = o;
    if (key === "general.alignment") alignment = b.readUInt32LE(o);
    if (key === "tokenizer.ggml.tokens") {
      tokens = [];
      u32();
      const n = u64();
      for (let j = 0; j < n; ++j) tokens.push(str());
    } else {
      skipValue(type);
    }
    kvs.push({key, type, start, valueAt, end: o});
  }
  const infosStart = o;
  for (let i = 0; i < nTensors; ++i) {
    str();
    const nd = u32();
    o += 8 * nd + 4 + 8;
  }
  const infosEnd = o;
  const dataStart = Math.ceil(infosEnd / alignment) * alignment;
  let keep = tokens.length;
  while (keep > 0 && /^\[PAD\d+\]$/.test(tokens[keep - 1])) --keep;
  assert.ok(keep < tokens.length, "the generated vocabulary is padded");
  const out = [b.subarray(0, kvs[0].start)];  // magic, version, counts
  for (const kv of kvs) {
    if (!["tokenizer.ggml.tokens", "tokenizer.ggml.token_type", "tokenizer.ggml.scores"].includes(kv.key)) {
      out.push(b.subarray(kv.start, kv.end));
      continue;
    }
    out.push(b.subarray(kv.start, kv.valueAt));  // key and type (array)
    const et = b.readUInt32LE(kv.valueAt);
    const head = Buffer.alloc(12);
    head.writeUInt32LE(et, 0);
    head.writeBigUInt64LE(BigInt(keep), 4);
    out.push(head);
    o = kv.valueAt + 12;
    const first = o;
    for (let j = 0; j < keep; ++j) skipValue(et);
    out.push(b.subarray(first, o));
  }
  out.push(b.subarray(infosStart, infosEnd));
  const len = out.reduce((s, x) => s + x.length, 0);
  out.push(Buffer.alloc(Math.ceil(len / alignment) * alignment - len));
  out.push(b.subarray(dataStart));
  fs.writeFileSync(dst, Buffer.concat(out));
  return keep;
}

before(() => {
  if (skip) return;
  MODEL = makeModel(TMP);
  // 1024 embedding rows over the ~660-token built-in vocabulary.
  const padded = path.join(TMP, "padded.gguf");
  cli(["gen-model", "--arch", "qwen2", "--preset", "tiny", "--vocab", "1024", "-o", padded, "--chat-template",
       path.join(SOURCE_DIR, "models/templates/deepseek-r1-distill.jinja")]);
  SHORT_VOCAB_MODEL = path.join(TMP, "short-vocab.gguf");
  dropVocabPadding(padded, SHORT_VOCAB_MODEL);
});
after(async () => {
  for (const s of servers) await s.stop();
});

async function assertAlive(s, what) {
  assert.equal(s.proc.exitCode, null, `the server exited after ${what}:\n${s.stderr().slice(-2000)}`);
  assert.equal(s.proc.signalCode, null, `the server died (${s.proc.signalCode}) after ${what}:\n${s.stderr().slice(-2000)}`);
  const h = await http(s, "/health");
  assert.equal(h.status, 200, `/health after ${what}`);
}

// The SSE events of a streamed POST, as parsed JSON ("[DONE]" kept as the string).
async function sse(s, pathname, body) {
  const res = await fetch(s.url + pathname, {method: "POST", headers: {"Content-Type": "application/json"},
                                             body: JSON.stringify({...body, stream: true})});
  const text = await res.text();
  const events = text.split("\n\n").filter((e) => e.startsWith("data: ")).map((e) => e.slice(6))
                     .map((d) => (d === "[DONE]" ? d : JSON.parse(d)));
  return {status: res.status, events};
}

// Every stream must end with [DONE]; an error, if any, as one OpenAI-shaped event.
function assertWellEnded(events, what) {
  assert.equal(events.at(-1), "[DONE]", `${what}: the stream ends with [DONE]`);
  for (const e of events.filter((x) => x !== "[DONE]" && x.error)) {
    assert.equal(typeof e.error.message, "string", what);
    assert.equal(e.error.type, "server_error", what);
  }
}

const PROMPT = "Once upon a time";
const COMPLETION = {prompt: PROMPT, max_tokens: 6, temperature: 0, logprobs: 5};
const CHAT = {messages: [{role: "user", content: PROMPT}], max_tokens: 6, temperature: 0, logprobs: true,
              top_logprobs: 20};

test("ids past the tokenizer's vocabulary: streams end well and the process keeps serving", {skip}, async () => {
  const s = await start(SHORT_VOCAB_MODEL, ["--parallel", "1", "-c", "256"]);
  // Up to 20 alternatives per token over 1024 rows of which the last ~360 have no
  // token: most steps list some of them (the random model spreads its mass over
  // every row). Before the fix a streamed one ended the process (or cut the stream).
  for (const [p, body] of [["/v1/completions", COMPLETION], ["/v1/chat/completions", CHAT]]) {
    const streamed = await sse(s, p, body);
    assert.equal(streamed.status, 200);
    assertWellEnded(streamed.events, `streamed ${p}`);
    await assertAlive(s, `a streamed ${p} with logprobs`);
    const plain = await http(s, p, {method: "POST", body});
    assert.ok(plain.json && (plain.status === 200 || plain.json.error), plain.text.slice(0, 300));
    await assertAlive(s, `${p} with logprobs`);
  }
});

// The sampled token itself could be such an id: before the engine masked those rows
// the stream decoder threw for it ("generation failed: token id 772 is out of range").
test("ids past the tokenizer's vocabulary: never sampled; 200 with empty bytes for those rows", {skip}, async () => {
  const s = await start(SHORT_VOCAB_MODEL, ["--parallel", "1", "-c", "256"]);
  const model = (await http(s, "/v1/models")).json.data[0];
  const streamed = await sse(s, "/v1/completions", COMPLETION);
  assert.ok(!streamed.events.some((e) => e.error), JSON.stringify(streamed.events.find((e) => e.error)));
  const plain = await http(s, "/v1/completions", {method: "POST", body: COMPLETION});
  assert.equal(plain.status, 200, plain.text.slice(0, 300));
  assert.equal(plain.json.choices[0].logprobs.top_logprobs.length, plain.json.usage.completion_tokens);
  const chat = await http(s, "/v1/chat/completions", {method: "POST", body: CHAT});
  assert.equal(chat.status, 200, chat.text.slice(0, 300));
  const lp = chat.json.choices[0].logprobs;
  const beyond = [...lp.content, ...lp.reasoning_content].flatMap((e) => e.top_logprobs).filter((t) => !t.bytes.length);
  assert.ok(beyond.length > 0, `some alternatives are rows past the tokenizer (rows ${model.meta.n_vocab})`);
  for (const t of beyond) assert.equal(t.token, "");
});

test("JSON type errors in any field are 400 naming the field, never 500", {skip}, async () => {
  const s = await start(MODEL, ["--parallel", "1", "-c", "256"]);
  const m = [{role: "user", content: "x"}];
  const cases = [
    ["/v1/chat/completions", {messages: [{role: "user", content: [{type: 1}]}]}, "messages[0].content"],
    ["/v1/chat/completions", {messages: [{role: "user", content: [{type: "text", text: 5}]}]}, "messages[0].content"],
    ["/v1/chat/completions", {messages: [{role: "user", content: [null]}]}, "messages[0].content"],
    ["/v1/chat/completions", {messages: "x"}, "messages"],
    ["/v1/chat/completions", {messages: null}, "messages"],
    ["/v1/chat/completions", {messages: [null]}, "messages[0]"],
    ["/v1/chat/completions", {messages: [{role: 5, content: "x"}]}, "messages[0].role"],
    ["/v1/chat/completions", {messages: [{role: "assistant", content: "x", tool_calls: [{function: {name: 5}}]}]},
     "messages[0].tool_calls"],
    ["/v1/chat/completions", {messages: m, stop: 5}, "stop"],
    ["/v1/chat/completions", {messages: m, logit_bias: {abc: 1}}, "logit_bias"],
    ["/v1/chat/completions", {messages: m, logit_bias: "x"}, "logit_bias"],
    ["/v1/chat/completions", {messages: m, max_tokens: "5"}, "max_tokens"],
    ["/v1/chat/completions", {messages: m, max_tokens: 1e308}, "max_tokens"],
    ["/v1/chat/completions", {messages: m, max_tokens: -1}, "max_tokens"],
    ["/v1/chat/completions", {messages: m, n: "2"}, "n"],
    ["/v1/chat/completions", {messages: m, n: 1e308}, "n"],
    ["/v1/chat/completions", {messages: m, logprobs: true, top_logprobs: -1}, "top_logprobs"],
    ["/v1/chat/completions", {messages: m, logprobs: "yes"}, "logprobs"],
    ["/v1/chat/completions", {messages: m, seed: "7"}, "seed"],
    ["/v1/chat/completions", {messages: m, seed: 1.5}, "seed"],
    ["/v1/chat/completions", {messages: m, stream_options: {include_usage: "yes"}}, "stream_options.include_usage"],
    ["/v1/chat/completions", {messages: m, thinking: {type: 1}}, "thinking.type"],
    ["/v1/chat/completions", {messages: m, thinking: {budget_tokens: "x"}}, "thinking.budget_tokens"],
    ["/v1/chat/completions", {messages: m, response_format: {type: 5}}, "response_format.type"],
    ["/v1/chat/completions", {messages: m, response_format: {type: "json_schema", json_schema: {schema: {type: "integer", multipleOf: 3}}}},
     "response_format.json_schema.schema"],
    ["/v1/chat/completions", {messages: m, grammar: "root ::= (root)"}, "grammar"],
    ["/v1/chat/completions", {messages: m, grammar: 7}, "grammar"],
    ["/v1/chat/completions", {messages: m, reasoning_effort: 3}, "reasoning_effort"],
    ["/v1/chat/completions", {messages: m, best_of: "x"}, "best_of"],
    ["/v1/completions", {prompt: 5}, "prompt"],
    ["/v1/completions", {prompt: [1, "a"]}, "prompt"],
    ["/v1/completions", {prompt: [[1], 2]}, "prompt"],
    ["/v1/completions", {prompt: "x", logprobs: true}, "logprobs"],
    ["/v1/completions", {prompt: "x", echo: "no"}, "echo"],
    ["/v1/completions", {prompt: "x", suffix: 1}, "suffix"],
    ["/tokenize", {content: "x", with_pieces: "yes"}, "with_pieces"],
    ["/tokenize", {content: "x", add_special: 1}, "add_special"],
    ["/tokenize", {messages: m, add_generation_prompt: "no"}, "add_generation_prompt"],
    ["/tokenize", {messages: [{role: "user", content: [{type: 1}]}]}, "messages[0].content"],
    ["/detokenize", {tokens: [1, "a"]}, "tokens"],
    ["/detokenize", {tokens: [18446744073709551615]}, "tokens"],
  ];
  for (const [p, body, param] of cases) {
    const r = await http(s, p, {method: "POST", body});
    const what = `${p} ${JSON.stringify(body)}`;
    assert.equal(r.status, 400, `${what} -> ${r.text.slice(0, 300)}`);
    assert.equal(r.json.error.type, "invalid_request_error", what);
    assert.equal(r.json.error.param, param, `${what} -> ${r.json.error.message}`);
    assert.ok(r.json.error.message.length > 10, what);
  }
  await assertAlive(s, "the type errors");
  // Nulls mean "default" for every optional field.
  const nulls = {model: null, temperature: null, top_p: null, max_tokens: null, n: null, stop: null, seed: null,
                 stream: null, stream_options: null, logprobs: null, top_logprobs: null, logit_bias: null,
                 presence_penalty: null, frequency_penalty: null, response_format: null, thinking: null,
                 reasoning_effort: null, user: null, tools: null};
  const ok = await http(s, "/v1/chat/completions", {method: "POST", body: {...nulls, messages: m, max_tokens: 2}});
  assert.equal(ok.status, 200, ok.text.slice(0, 300));
});

test("an explicit seed is always that seed, 4294967295 included", {skip}, async () => {
  const s = await start(MODEL, ["--parallel", "1", "-c", "256"]);
  const oa = client(s);
  const ask = (seed) => oa.completions.create({model: "x", prompt: "Once upon", max_tokens: 24, temperature: 2,
                                               top_p: 1, seed});
  for (const seed of [4294967295, 0, 18446744073709551615n]) {
    if (typeof seed === "bigint") {
      // JSON numbers past 2^53 go through as text (the client would round them).
      const body = `{"model":"x","prompt":"Once upon","max_tokens":24,"temperature":2,"top_p":1,"seed":${seed}}`;
      const a = await http(s, "/v1/completions", {method: "POST", body});
      const b = await http(s, "/v1/completions", {method: "POST", body});
      assert.equal(a.status, 200, a.text);
      assert.equal(a.json.choices[0].text, b.json.choices[0].text, `seed ${seed}`);
      continue;
    }
    const a = await ask(seed), b = await ask(seed);
    assert.equal(a.choices[0].text, b.choices[0].text, `seed ${seed}`);
  }
  // No seed: random (two draws over 24 tokens at temperature 2 differ).
  const texts = new Set();
  for (let i = 0; i < 3; ++i) texts.add((await ask(undefined)).choices[0].text);
  assert.ok(texts.size > 1, "no seed gives different samples");
});

test("one request cannot take more than its share of the queue", {skip}, async () => {
  const s = await start(MODEL, ["--parallel", "1", "-c", "256", "--max-queue", "64"]);
  // 8 prompts x n 8 = 64 choices: the whole queue for one request.
  const body = {model: "x", prompt: Array(8).fill("hello"), n: 8, max_tokens: 2, temperature: 0};
  const r = await http(s, "/v1/completions", {method: "POST", body});
  assert.equal(r.status, 400, r.text.slice(0, 300));
  assert.equal(r.json.error.param, "n");
  assert.match(r.json.error.message, /64 choices/);
  assert.match(r.json.error.message, /at most 16/);
  // A request within the share is served.
  const fine = await http(s, "/v1/completions", {method: "POST", body: {...body, prompt: ["a", "b"], n: 8}});
  assert.equal(fine.status, 200, fine.text.slice(0, 300));
  assert.equal(fine.json.choices.length, 16);
  // --max-choices sets the share.
  const t = await start(MODEL, ["--parallel", "1", "-c", "256", "--max-choices", "2"]);
  const three = await http(t, "/v1/chat/completions", {method: "POST",
                                                      body: {messages: [{role: "user", content: "x"}], n: 3}});
  assert.equal(three.status, 400);
  assert.match(three.json.error.message, /--max-choices/);
  await assertAlive(s, "an oversized request");
});

test("prompts that are empty, out of range, too long, or use echo/suffix get 400", {skip}, async () => {
  const s = await start(MODEL, ["--parallel", "1", "-c", "128"]);
  const n_vocab = (await http(s, "/v1/models")).json.data[0].meta.n_vocab;
  const cases = [
    [{prompt: []}, "prompt"],
    [{prompt: [[]]}, "prompt"],
    [{prompt: [""]}, "prompt"],
    [{prompt: [-1]}, "prompt"],
    [{prompt: [n_vocab]}, "prompt"],
    [{prompt: [2147483648]}, "prompt"],
    [{prompt: Array(200).fill(1)}, "prompt"],
    [{prompt: "word ".repeat(400)}, "prompt"],
    [{prompt: "x", echo: true}, "echo"],
    [{prompt: "x", suffix: "y"}, "suffix"],
    [{prompt: "x", stop: ["a".repeat(2000)]}, "stop"],
    [{prompt: "x", max_tokens: 100000}, "max_tokens"],
  ];
  for (const [body, param] of cases) {
    const r = await http(s, "/v1/completions", {method: "POST", body: {model: "x", ...body}});
    assert.equal(r.status, 400, `${JSON.stringify(body).slice(0, 80)} -> ${r.text.slice(0, 300)}`);
    assert.equal(r.json.error.param, param, r.json.error.message);
  }
  const long = await http(s, "/v1/completions", {method: "POST", body: {prompt: Array(200).fill(1)}});
  assert.equal(long.json.error.code, "context_length_exceeded");
  // A stop string that can never match and invalid UTF-8 in a stop string (replaced
  // by U+FFFD like every string of the body) still give a normal answer.
  const raw = Buffer.concat([Buffer.from('{"prompt":"x","max_tokens":3,"stop":["a'), Buffer.from([0xff, 0xfe]),
                             Buffer.from('", "' + "z".repeat(1000) + '"]}')]);
  const res = await fetch(s.url + "/v1/completions", {method: "POST", headers: {"Content-Type": "application/json"},
                                                      body: raw});
  assert.equal(res.status, 200, await res.clone().text());
  await assertAlive(s, "the bad prompts");
});
