// Tool (function) calls: how a model family writes them, reading them back out of an
// answer, the grammar that forces one, and telling the model about the tools.
//
// Formats (chosen from the chat template; models without one use the built-in R1 format):
//   deepseek_r1   R1 / V3 / R1-0528: <｜tool▁calls▁begin｜><｜tool▁call▁begin｜>function<｜tool▁sep｜>NAME
//                 \n```json\nARGS\n```<｜tool▁call▁end｜> (more calls after "\n") <｜tool▁calls▁end｜>
//   deepseek_v31  V3.1: <｜tool▁calls▁begin｜><｜tool▁call▁begin｜>NAME<｜tool▁sep｜>ARGS<｜tool▁call▁end｜>...
//                 <｜tool▁calls▁end｜>
//   qwen          Qwen 2.5 / 3 (Hermes style): <tool_call>\n{"name": NAME, "arguments": ARGS}\n</tool_call>
//   llama3        Llama 3.x: {"name": NAME, "parameters": ARGS} (optionally after <|python_tag|>),
//                 several separated by ";"
//
// Contracts:
// - parse_tool_calls() never throws: text that is not a complete, well-formed call block
//   (truncated, unknown shape, arguments that are not a JSON object) gives no calls, and
//   the whole text stays content. With calls, `content` is the text before the block and
//   any text after it, trimmed. Only the answer is given to it, never the reasoning.
// - tool_call_start() is where a call block may begin in a growing answer (for streaming:
//   text before it can be sent; from it on, text is held until the answer ends).
// - forced_tool_call_gbnf() is a grammar matching exactly one call (or, parallel, one or
//   more) in the format, to one of `tools` (or the one named), with arguments valid for
//   the function's parameters schema (grammar/json_schema.hpp; throws r1::Error like it).
#pragma once
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json.hpp>

namespace r1 {

enum class ToolFormat { deepseek_r1, deepseek_v31, qwen, llama3 };
const char* tool_format_name(ToolFormat f);

// The format a chat template writes tool calls in ("" = the built-in R1 format).
ToolFormat detect_tool_format(std::string_view chat_template);

struct ToolCall {
  std::string name;
  std::string arguments;  // a JSON object, as text (compact)
};

struct ParsedAnswer {
  std::string content;        // before + after, trimmed, joined by "\n" (no calls: the whole text)
  std::vector<ToolCall> calls;
  std::string before, after;  // with calls: the untrimmed text before and after the call block
};

ParsedAnswer parse_tool_calls(ToolFormat f, std::string_view answer);

// Offset of the first byte that may start a call block in `answer_so_far`, or npos.
// Also counts a trailing partial marker (the text could still become one).
size_t tool_call_start(ToolFormat f, std::string_view answer_so_far);

// tools: [{"type": "function", "function": {"name", "description"?, "parameters"?}}] (validated
// by the caller). only: the one function allowed ("" = any of them).
std::string forced_tool_call_gbnf(ToolFormat f, const nlohmann::ordered_json& tools, const std::string& only,
                                  bool parallel);

// Whether a chat template renders the `tools` variable itself.
bool template_renders_tools(std::string_view chat_template);

// A system prompt section describing `tools` and how to call them in format f, for
// templates that do not render tools.
std::string tools_system_prompt(ToolFormat f, const nlohmann::ordered_json& tools);

}  // namespace r1
