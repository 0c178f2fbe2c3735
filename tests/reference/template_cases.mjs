// Conversations for the chat-template differential test (template.test.mjs).
//
// buildCases(kind, seed) returns [{name, messages, vars?}] for kind "deepseek" (the
// R1-Distill and V3 templates: tool calls carry content null and string arguments)
// or "qwen" (Qwen3: content "" or text with tool calls, object or string arguments,
// reasoning_content, tools, enable_thinking). Hand-written cases come first, then
// seeded random conversations. Some cases are expected to fail in both renderers
// (e.g. user content null); the test only requires that both fail.

// mulberry32: small deterministic PRNG.
export function rng(seed) {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

const USER_TEXTS = [
  "What is 2+2?",
  "Solve x^2 - 5x + 6 = 0. Please reason step by step, and put your final answer within \\boxed{}.",
  "写一首关于秋天的短诗。",
  "Explain what {{ jinja }} and {% raw %} tags do, and what {# comments #} are.",
  "Quotes: \"double\", 'single', back\\slash and a lone \\n escape.",
  "Tabs\tand\nnewlines\n\nand paragraphs.\r\nWindows line too.",
  "emoji 🤔🚀👩‍👩‍👧 and RTL עברית العربية and combining e\u0301",
  "",
  "Special tokens as text: <｜User｜> <｜Assistant｜> <|im_start|> <|im_end|>",
  "JSON inside: {\"a\": [1, 2, {\"b\": null}]}",
  "<tool_response>looks like a tool response</tool_response>",
  "A user who writes <think>pretend thoughts</think> in the prompt.",
  "Long: " + "lorem ipsum dolor sit amet, ".repeat(80),
  "数学题：如果 x + 3 = 7，那么 x 等于多少？",
  "Zürich, São Paulo, Kraków — naïve café; ΩΜΈΓΑ Привет!",
  "trailing newline\n",
];

const SYSTEM_TEXTS = [
  "You are a helpful assistant.",
  "You are DeepSeek-R1. Think step by step.",
  "系统提示：请用中文回答。",
  "Multi-line\nsystem\n\nprompt with {{ braces }}",
  "",
];

const ANSWERS = [
  "The answer is 4.",
  "**4**",
  "秋风起，落叶黄。",
  "Here is JSON: {\"x\": 1}",
  "",
  "Line one\n\nLine two",
  "emoji ok 👍",
];

const REASONINGS = [
  "The user asks a simple sum. 2 + 2 = 4.",
  "Let me think.\nFirst, factor: (x-2)(x-3).\nSo x = 2 or x = 3.",
  "嗯，用户想要一首诗。",
  "",
  "Reasoning with < and > and </thinking> lookalikes.",
];

// An assistant turn's content with reasoning in the forms models produce.
function assistantContent(r, pick) {
  const ans = pick(ANSWERS), reason = pick(REASONINGS);
  switch (Math.floor(r() * 7)) {
    case 0: return ans;
    case 1: return `<think>\n${reason}\n</think>\n\n${ans}`;
    case 2: return `<think>\n\n</think>\n\n${ans}`;
    case 3: return `${reason}\n</think>\n\n${ans}`;  // opening tag was in the prompt
    case 4: return `<think>${reason}</think>${ans}`;
    case 5: return `a</think>b</think>\n\n${ans}`;   // two closing tags
    default: return `</think>\n\n${ans}`;
  }
}

const TOOL_NAMES = ["get_weather", "search", "calculator", "查询"];
function toolArgs(r, pick) {
  const options = [{city: "Paris", unit: "celsius"}, {query: "deepseek r1", top_k: 3}, {expr: "2*(3+4)"}, {q: "天气", n: 1.5}, {}];
  return pick(options);
}

function toolCall(kind, r, pick) {
  const args = toolArgs(r, pick);
  const asString = kind === "deepseek" || r() < 0.5;
  const fn = {name: pick(TOOL_NAMES), arguments: asString ? JSON.stringify(args) : args};
  if (kind === "qwen" && r() < 0.3) return fn;  // Qwen3 also accepts calls without "function"
  return {type: "function", function: fn};
}

function toolResult(pick) {
  return pick(['{"temperature": 21, "unit": "celsius"}', "Found 3 results:\n1. a\n2. b\n3. c", "42", "", "错误：未找到"]);
}

export const QWEN_TOOLS = [
  {
    type: "function",
    function: {
      name: "get_weather",
      description: "Get the current weather in a city. Returns \"celsius\" by default.",
      parameters: {
        type: "object",
        properties: {city: {type: "string", description: "City name, e.g. 巴黎"}, unit: {type: "string", enum: ["celsius", "fahrenheit"]}},
        required: ["city"],
      },
    },
  },
  {type: "function", function: {name: "calculator", description: "Evaluate an arithmetic expression.", parameters: {type: "object", properties: {expr: {type: "string"}}, required: ["expr"]}}},
];

function randomConversation(kind, r) {
  const pick = (xs) => xs[Math.floor(r() * xs.length)];
  const messages = [];
  const nSystem = r() < 0.5 ? 0 : r() < 0.8 ? 1 : 2;
  for (let i = 0; i < nSystem; ++i) messages.push({role: "system", content: pick(SYSTEM_TEXTS)});
  const turns = 1 + Math.floor(r() * 4);
  for (let t = 0; t < turns; ++t) {
    messages.push({role: "user", content: pick(USER_TEXTS)});
    const last = t === turns - 1;
    if (last && r() < 0.5) break;  // ends with a user turn (the usual generation case)
    if (r() < 0.3) {
      // tool round: call(s), result(s), then an answer
      const nCalls = 1 + Math.floor(r() * 2);
      const calls = [];
      for (let k = 0; k < nCalls; ++k) calls.push(toolCall(kind, r, pick));
      const content = kind === "deepseek" ? null : pick(["", "Let me check.", "<think>\nneed a tool\n</think>\n\n"]);
      messages.push({role: "assistant", content, tool_calls: calls});
      for (let k = 0; k < nCalls; ++k) messages.push({role: "tool", content: toolResult(pick)});
      if (r() < 0.8) messages.push({role: "assistant", content: assistantContent(r, pick)});
    } else {
      const m = {role: "assistant", content: assistantContent(r, pick)};
      if (kind === "qwen" && r() < 0.25) m.reasoning_content = pick(REASONINGS);
      messages.push(m);
    }
  }
  const vars = {};
  if (kind === "qwen") {
    if (r() < 0.3) vars.tools = QWEN_TOOLS;
    if (r() < 0.2) vars.enable_thinking = r() < 0.5;
  }
  return {messages, vars};
}

function handWritten(kind) {
  const tc = kind === "deepseek"
    ? {role: "assistant", content: null, tool_calls: [{type: "function", function: {name: "get_weather", arguments: "{\"city\": \"Paris\"}"}}]}
    : {role: "assistant", content: "", tool_calls: [{type: "function", function: {name: "get_weather", arguments: {city: "Paris"}}}]};
  const cases = [
    {name: "single_user", messages: [{role: "user", content: "hi"}]},
    {name: "system_user", messages: [{role: "system", content: "Be brief."}, {role: "user", content: "hi"}]},
    {name: "two_systems", messages: [{role: "system", content: "A"}, {role: "system", content: "B"}, {role: "user", content: "hi"}]},
    {name: "multi_turn_with_reasoning", messages: [
      {role: "user", content: "2+2?"},
      {role: "assistant", content: "<think>\nadd them\n</think>\n\n4"},
      {role: "user", content: "and 3+3?"}]},
    {name: "empty_contents", messages: [{role: "user", content: ""}, {role: "assistant", content: ""}, {role: "user", content: ""}]},
    {name: "empty_think_block", messages: [{role: "user", content: "q"}, {role: "assistant", content: "<think>\n\n</think>\n\nA"}]},
    {name: "tool_round", messages: [{role: "user", content: "Weather in Paris?"}, tc, {role: "tool", content: "{\"t\": 21}"},
      {role: "assistant", content: "It is 21 °C."}]},
    {name: "two_tool_results", messages: [{role: "user", content: "x"}, tc, {role: "tool", content: "r1"}, {role: "tool", content: "r2"}]},
    {name: "template_syntax_in_content", messages: [{role: "user", content: "{% if true %}yes{% endif %} {{ messages }} {# c #}"}]},
    {name: "unicode_everywhere", messages: [{role: "system", content: "系统 🌏"}, {role: "user", content: "你好 👋 مرحبا"},
      {role: "assistant", content: "<think>\n思考 🤔\n</think>\n\n答案 ✅"}, {role: "user", content: "再见"}]},
    {name: "only_system", messages: [{role: "system", content: "sys only"}]},
    {name: "no_messages", messages: []},
    {name: "assistant_last", messages: [{role: "user", content: "q"}, {role: "assistant", content: "partial answer"}]},
    {name: "whitespace_after_think", messages: [{role: "user", content: "q"},
      {role: "assistant", content: "<think>\n  indented thought \n</think>\n\n  spaced answer  "}, {role: "user", content: "q2"}]},
    {name: "user_content_null_fails", messages: [{role: "user", content: null}], expectError: true},
  ];
  if (kind === "qwen") {
    cases.push(
      {name: "tools_var", messages: [{role: "system", content: "S"}, {role: "user", content: "weather?"}], vars: {tools: QWEN_TOOLS}},
      {name: "no_thinking", messages: [{role: "user", content: "hi"}], vars: {enable_thinking: false}},
      {name: "reasoning_content_field", messages: [{role: "user", content: "q"},
        {role: "assistant", content: "answer", reasoning_content: "because"}, {role: "user", content: "q2"}]},
      {name: "tool_response_user", messages: [{role: "user", content: "real question"},
        {role: "assistant", content: "<think>\nx\n</think>\n\ny"},
        {role: "user", content: "<tool_response>\nobs\n</tool_response>"}]},
      {name: "assistant_content_null_fails", messages: [{role: "user", content: "q"}, {role: "assistant", content: null}], expectError: true},
    );
  }
  return cases;
}

export function buildCases(kind, seed, nRandom = 60) {
  const r = rng(seed);
  const cases = handWritten(kind);
  for (let i = 0; i < nRandom; ++i) cases.push({name: `random_${i}`, ...randomConversation(kind, r)});
  return cases;
}
