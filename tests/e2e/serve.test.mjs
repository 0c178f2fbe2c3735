// `r1 serve` end to end with the official OpenAI client: chat and completions,
// streaming and not, reasoning fields, usage, stop strings, seeds, n > 1,
// logprobs, tokenize, auth, CORS, environment flags.
//
// References are independent of the server: `r1 run --json` (the CLI's single-
// sequence generate() path) for texts and token counts, `r1 logits` (teacher-
// forced logits) for log-probabilities, and the OpenAI client for the wire format.
// Environment: R1_BIN, R1_TMP, R1_SOURCE_DIR (set by ctest).
import {test, before, after} from "node:test";
import assert from "node:assert/strict";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import {R1_BIN, cli, client, http, makeModel, metrics, startServer} from "./serve_util.mjs";

const skip = R1_BIN ? false : "R1_BIN is not set";
const TMP = path.join(process.env.R1_TMP || os.tmpdir(), "serve-api");
const KEY = "sk-test-0123456789";
const CTX = 1024;
let MODEL, srv, oa;

// The CLI reference: one chat prompt through generate() on its own.
function reference(prompt, n, extra = []) {
  return JSON.parse(cli(["run", "-m", MODEL, "--json", "--temp", "0", "-n", String(n), "-c", String(CTX), "-t", "1",
                         "-p", prompt, ...extra]));
}

before(async () => {
  if (skip) return;
  MODEL = makeModel(TMP);
  srv = await startServer(MODEL, ["--parallel", "4", "-c", String(CTX), "--api-key", KEY]);
  oa = client(srv, KEY);
});
after(async () => srv && srv.stop());

test("health is open; everything else needs the API key", {skip}, async () => {
  assert.deepEqual((await http(srv, "/health")).json, {status: "ok"});
  for (const [p, method] of [["/v1/models", "GET"], ["/metrics", "GET"], ["/v1/chat/completions", "POST"], ["/tokenize", "POST"]]) {
    const r = await http(srv, p, {method, body: method === "POST" ? {} : undefined, key: "wrong"});
    assert.equal(r.status, 401, p);
    assert.equal(r.json.error.code, "invalid_api_key");
    assert.equal(r.json.error.type, "authentication_error");
  }
  await assert.rejects(client(srv, "wrong").models.list(), (e) => e.status === 401);
  const models = await oa.models.list();
  assert.deepEqual(models.data.map((m) => m.id), ["x"]);  // the file name
  assert.equal((await oa.models.retrieve("x")).id, "x");
  await assert.rejects(oa.models.retrieve("gpt-4"), (e) => e.status === 404 && e.code === "model_not_found");
  // No CORS without --cors.
  const r = await http(srv, "/health");
  assert.equal(r.headers.get("access-control-allow-origin"), null);
  assert.equal((await http(srv, "/v1/models", {method: "OPTIONS"})).status, 405);
});

test("chat, non-streaming: reasoning and answer split as the CLI splits them, usage counts", {skip}, async () => {
  const ref = reference("Hello there", 40, ["--think-budget", "8"]);
  const r = await oa.chat.completions.create({model: "x", messages: [{role: "user", content: "Hello there"}],
                                             temperature: 0, max_tokens: 40, thinking_budget: 8});
  assert.equal(r.object, "chat.completion");
  assert.match(r.id, /^chatcmpl-/);
  const c = r.choices[0];
  assert.equal(c.message.role, "assistant");
  assert.equal(c.message.reasoning_content, ref.reasoning);
  assert.equal(c.message.content, ref.content);
  assert.ok(ref.reasoning.length > 0 && ref.content.length > 0, "the budget closed the reasoning, an answer followed");
  assert.equal(c.message.content.includes("</think>"), false);
  assert.equal(c.finish_reason, ref.finish_reason);
  assert.equal(r.usage.prompt_tokens, ref.prompt_tokens.length);
  assert.equal(r.usage.completion_tokens, ref.tokens.length);
  assert.equal(r.usage.total_tokens, ref.prompt_tokens.length + ref.tokens.length);
  assert.equal(r.usage.completion_tokens_details.reasoning_tokens, ref.reasoning_tokens);
});

test("chat, streaming: the deltas add up to the non-streamed answer; usage chunk last", {skip}, async () => {
  const body = {model: "x", messages: [{role: "user", content: "Stream me"}], temperature: 0, max_tokens: 30,
                thinking_budget: 6};
  const whole = await oa.chat.completions.create(body);
  const stream = await oa.chat.completions.create({...body, stream: true, stream_options: {include_usage: true}});
  let reasoning = "", content = "", finish = null, usage = null, role = null, chunks = 0, afterUsage = 0;
  for await (const ch of stream) {
    chunks++;
    assert.equal(ch.object, "chat.completion.chunk");
    if (usage) afterUsage++;
    if (ch.usage) usage = ch.usage;
    for (const c of ch.choices) {
      role ??= c.delta.role;
      reasoning += c.delta.reasoning_content ?? "";
      content += c.delta.content ?? "";
      if (c.finish_reason) finish = c.finish_reason;
    }
  }
  assert.equal(role, "assistant");
  assert.equal(reasoning, whole.choices[0].message.reasoning_content);
  assert.equal(content, whole.choices[0].message.content);
  assert.equal(finish, whole.choices[0].finish_reason);
  assert.deepEqual(usage.completion_tokens_details, whole.usage.completion_tokens_details);
  assert.equal(usage.completion_tokens, whole.usage.completion_tokens);
  assert.equal(afterUsage, 0, "usage is the last chunk");
  assert.ok(chunks > 5, "one chunk per token or so");
});

test("max_tokens inside the reasoning: finish length, the reasoning returned, content an empty string", {skip}, async () => {
  const ref = reference("Think long", 5);
  assert.equal(ref.content, "", "the reference is still reasoning after 5 tokens");
  const r = await oa.chat.completions.create({model: "x", messages: [{role: "user", content: "Think long"}],
                                             temperature: 0, max_completion_tokens: 5});
  const c = r.choices[0];
  assert.equal(c.finish_reason, "length");
  assert.equal(c.message.content, "");
  assert.equal(c.message.reasoning_content, ref.reasoning);
  assert.equal(r.usage.completion_tokens, 5);
  assert.equal(r.usage.completion_tokens_details.reasoning_tokens, 5);
});

test("reasoning_format none and raw keep the reasoning inline in content", {skip}, async () => {
  const ref = reference("Inline please", 20, ["--think-budget", "4"]);
  const ask = (fmt) => oa.chat.completions.create({model: "x", messages: [{role: "user", content: "Inline please"}],
                                                   temperature: 0, max_tokens: 20, thinking_budget: 4,
                                                   reasoning_format: fmt});
  const none = (await ask("none")).choices[0].message;
  assert.equal(none.content, ref.text);  // the generated text verbatim, "</think>" included
  assert.equal(none.reasoning_content, undefined);
  const raw = (await ask("raw")).choices[0].message;
  assert.equal(raw.content, "<think>\n" + ref.text);  // the template's opening tag put back
  assert.ok(raw.content.includes("</think>"));
  const bad = await http(srv, "/v1/chat/completions", {method: "POST", key: KEY,
      body: {messages: [{role: "user", content: "x"}], reasoning_format: "yaml"}});
  assert.equal(bad.status, 400);
  assert.equal(bad.json.error.param, "reasoning_format");
});

test("history: earlier reasoning sent back is dropped, tool messages are rendered", {skip}, async () => {
  const msgs = (assistant) => [{role: "system", content: "Be brief."}, {role: "user", content: "Hi"}, assistant,
                               {role: "user", content: "Again"}];
  const tok = async (messages) => (await http(srv, "/tokenize", {method: "POST", key: KEY, body: {messages}})).json.tokens;
  // The template keeps what follows the last </think> of an earlier answer.
  const withThink = await tok(msgs({role: "assistant", content: "<think>\nsecret plan\n</think>\n\nHello!"}));
  assert.deepEqual(withThink, await tok(msgs({role: "assistant", content: "\n\nHello!"})));
  const withField = await tok(msgs({role: "assistant", content: "Hello!", reasoning_content: "secret plan"}));
  assert.deepEqual(withField, await tok(msgs({role: "assistant", content: "Hello!"})));
  const text = (await http(srv, "/detokenize", {method: "POST", key: KEY, body: {tokens: withThink}})).json.content;
  assert.ok(!text.includes("secret") && text.includes("Hello!"));
  const r = await oa.chat.completions.create({model: "x", temperature: 0, max_tokens: 3, messages: [
    {role: "user", content: "What is 6*7?"},
    {role: "assistant", content: null, tool_calls: [{id: "c1", type: "function", function: {name: "calc", arguments: "{\"e\":\"6*7\"}"}}]},
    {role: "tool", tool_call_id: "c1", content: "42"},
    {role: "user", content: [{type: "text", text: "So?"}]},
  ]});
  assert.equal(r.choices.length, 1);
});

test("stop strings end the answer before the match; reasoning is never matched", {skip}, async () => {
  const ref = reference("Stop somewhere", 40, ["--think-budget", "6"]);
  assert.ok(ref.content.length >= 8);
  const stop = ref.content.slice(4, 7);
  const expected = ref.content.slice(0, ref.content.indexOf(stop));
  const r = await oa.chat.completions.create({model: "x", messages: [{role: "user", content: "Stop somewhere"}],
                                             temperature: 0, max_tokens: 40, thinking_budget: 6, stop: ["\u0000never", stop]});
  assert.equal(r.choices[0].message.content, expected);
  assert.equal(r.choices[0].finish_reason, "stop");
  assert.equal(r.choices[0].message.reasoning_content, ref.reasoning);
  // A stop string that occurs only in the reasoning does not stop anything.
  const inReasoning = [...Array(ref.reasoning.length - 2).keys()].map((i) => ref.reasoning.slice(i, i + 3))
      .find((s) => !ref.content.includes(s) && !s.includes("\uFFFD"));
  if (inReasoning) {
    const r2 = await oa.chat.completions.create({model: "x", messages: [{role: "user", content: "Stop somewhere"}],
                                                temperature: 0, max_tokens: 40, thinking_budget: 6, stop: inReasoning});
    assert.equal(r2.choices[0].message.content, ref.content);
  }
});

test("seeds reproduce; n > 1 gives choice i the sample of seed + i", {skip}, async () => {
  const ask = (seed, n = 1) => oa.chat.completions.create({model: "x", messages: [{role: "user", content: "Sample"}],
                                                           temperature: 1, max_tokens: 16, seed, n});
  const a = await ask(123), b = await ask(123), c = await ask(124);
  const text = (r, i = 0) => r.choices[i].message.reasoning_content + "|" + r.choices[i].message.content;
  assert.equal(text(a), text(b));
  assert.notEqual(text(a), text(c));
  const multi = await ask(123, 3);
  assert.deepEqual(multi.choices.map((ch) => ch.index), [0, 1, 2]);
  assert.equal(text(multi, 0), text(a));
  assert.equal(text(multi, 1), text(c));
  assert.equal(text(multi, 2), text(await ask(125)));
  assert.equal(multi.usage.completion_tokens,
               a.usage.completion_tokens + c.usage.completion_tokens + (await ask(125)).usage.completion_tokens);
  assert.equal(multi.usage.prompt_tokens, a.usage.prompt_tokens, "the prompt is counted once");
  // Streaming n = 2: chunks carry their choice index.
  const seen = new Set();
  for await (const ch of await oa.chat.completions.create({model: "x", messages: [{role: "user", content: "Sample"}],
                                                          temperature: 1, max_tokens: 4, n: 2, stream: true}))
    for (const c of ch.choices) seen.add(c.index);
  assert.deepEqual([...seen].sort(), [0, 1]);
});

test("logprobs match the model's teacher-forced distribution (r1 logits)", {skip}, async () => {
  const r = await oa.chat.completions.create({model: "x", messages: [{role: "user", content: "Log me"}],
                                             temperature: 0, max_tokens: 6, logprobs: true, top_logprobs: 3});
  const lp = r.choices[0].logprobs;
  const entries = [...lp.reasoning_content, ...lp.content];
  assert.equal(entries.length, r.usage.completion_tokens);
  // Ids of the prompt and of the generated tokens, from the CLI reference.
  const ref = reference("Log me", 6);
  const ids = [...ref.prompt_tokens, ...ref.tokens];
  const idsFile = path.join(TMP, "ids.json"), out = path.join(TMP, "logits.bin");
  fs.writeFileSync(idsFile, JSON.stringify(ids));
  cli(["logits", "-m", MODEL, "--ids", idsFile, "--out", out, "-t", "1"]);
  const buf = fs.readFileSync(out);
  const logits = new Float32Array(buf.buffer, buf.byteOffset, buf.byteLength / 4);
  const V = logits.length / ids.length;
  for (let k = 0; k < entries.length; k++) {
    const row = logits.subarray((ref.prompt_tokens.length - 1 + k) * V, (ref.prompt_tokens.length + k) * V);
    let mx = -Infinity;
    for (const x of row) mx = Math.max(mx, x);
    let s = 0;
    for (const x of row) s += Math.exp(x - mx);
    const lse = mx + Math.log(s);
    const order = [...row.keys()].sort((a, b) => row[b] - row[a] || a - b);
    const e = entries[k];
    assert.ok(Math.abs(e.logprob - (row[ref.tokens[k]] - lse)) < 2e-3, `token ${k}: ${e.logprob}`);
    assert.equal(e.top_logprobs.length, 3);
    for (let j = 0; j < 3; j++) assert.ok(Math.abs(e.top_logprobs[j].logprob - (row[order[j]] - lse)) < 2e-3);
    assert.equal(e.logprob, e.top_logprobs[0].logprob, "greedy picks the most likely token");
    assert.deepEqual(Buffer.from(e.bytes).length > 0, true);
  }
});

test("completions: raw prompt text, streaming and not, legacy logprobs", {skip}, async () => {
  const ref = JSON.parse(cli(["run", "-m", MODEL, "--json", "--raw", "--temp", "0", "-n", "10", "-t", "1", "-p", "Once upon"]));
  const r = await oa.completions.create({model: "x", prompt: "Once upon", max_tokens: 10, temperature: 0, logprobs: 2});
  assert.equal(r.object, "text_completion");
  assert.equal(r.choices[0].text, ref.text);
  assert.equal(r.usage.prompt_tokens, ref.prompt_tokens.length);
  assert.equal(r.choices[0].logprobs.tokens.length, ref.tokens.length);
  assert.equal(r.choices[0].logprobs.top_logprobs[0] && Object.keys(r.choices[0].logprobs.top_logprobs[0]).length <= 2, true);
  let text = "";
  for await (const ch of await oa.completions.create({model: "x", prompt: "Once upon", max_tokens: 10, temperature: 0,
                                                      stream: true}))
    text += ch.choices[0]?.text ?? "";
  assert.equal(text, ref.text);
  const two = await oa.completions.create({model: "x", prompt: ["Once upon", "Hello"], max_tokens: 3, temperature: 0});
  assert.equal(two.choices.length, 2);
  assert.equal(two.choices[0].text, r.choices[0].text.slice(0, two.choices[0].text.length));
});

test("tokenize / detokenize agree with r1 tokenize", {skip}, async () => {
  const text = "Hello <think> wörld 你好";
  const cliIds = JSON.parse(cli(["tokenize", "-m", MODEL, "--json", "--no-bos"], {input: text}));
  const r = await http(srv, "/tokenize", {method: "POST", key: KEY, body: {content: text}});
  assert.deepEqual(r.json.tokens, cliIds);
  const d = await http(srv, "/detokenize", {method: "POST", key: KEY, body: {tokens: cliIds}});
  assert.equal(d.json.content, text);
  // Ids ending mid-character: the incomplete bytes become U+FFFD (the tokenizer's rule).
  const cut = await http(srv, "/detokenize", {method: "POST", key: KEY, body: {tokens: [72, 0xE4, 0xBD]}});
  assert.equal(cut.json.content, "H\uFFFD");
  const bad = await http(srv, "/detokenize", {method: "POST", key: KEY, body: {tokens: [1e9]}});
  assert.equal(bad.status, 400);
});

test("metrics: Prometheus text with the counters and histograms", {skip}, async () => {
  const m = await metrics(srv, KEY);
  assert.ok(m['r1_requests_total{endpoint="/v1/chat/completions",code="200"}'] >= 10);
  assert.ok(m['r1_generated_tokens_total{part="reasoning"}'] > 0);
  assert.ok(m['r1_time_to_first_token_seconds_count'] >= 10);
  assert.ok(m['r1_inter_token_seconds_count'] > 0);
  assert.equal(m.r1_slots_total, 4);
  assert.equal(m.r1_queue_depth, 0);
  assert.ok(m.r1_decode_tokens_per_second > 0);
  assert.ok(m.r1_prompt_tokens_cached_total > 0, "repeated prompts reuse a slot's cache");
});

test("--reasoning-field both, --cors and flags from the environment", {skip}, async () => {
  const b = await startServer(MODEL, ["--reasoning-field", "both", "-c", "512"],
                              {R1_CORS: "http://localhost:5173", R1_ALIAS: "tiny-r1", R1_PARALLEL: "2"});
  try {
    const oab = client(b);
    assert.deepEqual((await oab.models.list()).data.map((m) => m.id), ["tiny-r1"]);
    const m = await metrics(b);
    assert.equal(m.r1_slots_total, 2);
    const r = await oab.chat.completions.create({model: "tiny-r1", messages: [{role: "user", content: "Both"}],
                                                temperature: 0, max_tokens: 6});
    assert.equal(r.choices[0].message.reasoning, r.choices[0].message.reasoning_content);
    assert.ok(r.choices[0].message.reasoning.length > 0);
    const h = await http(b, "/health");
    assert.equal(h.headers.get("access-control-allow-origin"), "http://localhost:5173");
    const pre = await http(b, "/v1/chat/completions", {method: "OPTIONS"});
    assert.equal(pre.status, 204);
    assert.match(pre.headers.get("access-control-allow-headers"), /Authorization/);
  } finally {
    await b.stop();
  }
});
