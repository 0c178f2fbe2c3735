// libFuzzer entry point for chat templates: the input is a template source; it is
// parsed and rendered with a fixed, realistic conversation (system, user,
// assistant with reasoning and a tool call, tool result, tools list). Any input
// must render or throw r1::Error; crashes, sanitizer reports, leaks and timeouts
// fail. The limits are smaller than the defaults so that each input is fast;
// that they hold at all is what is tested (tests/unit/tokenizer_jinja_limits.cpp
// covers the default values).
#include <cstddef>
#include <cstdint>
#include <string_view>

#include "base/error.hpp"
#include "tokenizer/jinja.hpp"

namespace {

const nlohmann::ordered_json& context() {
  static const nlohmann::ordered_json vars = nlohmann::ordered_json::parse(R"({
    "messages": [
      {"role": "system", "content": "You are a helpful assistant."},
      {"role": "user", "content": "What is the weather in Paris? Answer in °C."},
      {"role": "assistant", "content": "<think>\nThe user wants the weather.\n</think>\n\nLet me check.",
       "tool_calls": [{"type": "function", "id": "call_1",
                       "function": {"name": "get_weather", "arguments": "{\"city\": \"Paris\"}"}}]},
      {"role": "tool", "tool_call_id": "call_1", "content": "{\"temp\": 21}"},
      {"role": "assistant", "content": "It is 21 °C in Paris."},
      {"role": "user", "content": [{"type": "text", "text": "Thanks! 谢谢"}]}
    ],
    "tools": [{"type": "function", "function": {"name": "get_weather", "description": "Weather of a city",
               "parameters": {"type": "object", "properties": {"city": {"type": "string"}}, "required": ["city"]}}}],
    "add_generation_prompt": true,
    "enable_thinking": false,
    "bos_token": "<｜begin▁of▁sentence｜>",
    "eos_token": "<｜end▁of▁sentence｜>"
  })");
  return vars;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string_view source(reinterpret_cast<const char*>(data), size);
  r1::jinja::Limits limits;
  limits.max_steps = 200'000;
  limits.max_bytes = size_t(1) << 20;
  limits.max_seconds = 2.0;
  try {
    const r1::jinja::Template t(source);
    (void)t.render(context(), limits);
  } catch (const r1::Error&) {
  }
  return 0;
}
