// Turning chat messages into prompt text and prompt tokens.
//
// Contracts:
// - messages is a JSON array of objects {"role": string, "content": string}
//   (roles system / user / assistant / tool; content may be null for an assistant turn;
//   an assistant turn may carry "tool_calls": [{"type", "function": {"name", "arguments"}}]).
//   Anything else throws r1::Error naming the message index.
// - format_chat() renders with the model's tokenizer.chat_template when it has
//   one (bos_token / eos_token are passed to the template), otherwise with the
//   built-in DeepSeek-R1 format below.
// - Built-in R1 format:
//     {bos}{system}<｜User｜>{q}<｜Assistant｜>{a}<｜end▁of▁sentence｜>...<｜Assistant｜><think>\n
//   (system messages joined by "\n\n"; an earlier assistant turn keeps only the
//   text after its last "</think>"; the last line only with add_generation_prompt).
//   Tool calls and results as the R1 template writes them: an assistant turn's
//   tool_calls as <｜tool▁calls▁begin｜>...<｜tool▁calls▁end｜><｜end▁of▁sentence｜>, role
//   "tool" messages as <｜tool▁outputs▁begin｜><｜tool▁output▁begin｜>...<｜tool▁output▁end｜>
//   ...<｜tool▁outputs▁end｜>.
// - tokenize_prompt() parses special tokens and lets the model decide about BOS,
//   but never adds a second one when the text already starts with the BOS text.
#pragma once
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json.hpp>

namespace r1 {

class Tokenizer;

// tools: null, or the OpenAI tools array ([{"type": "function", "function": {...}}]):
// passed to the template as `tools` when it renders them (template_renders_tools), else
// described in a system prompt section (tools_system_prompt, appended to the first system
// message or put in front as one).
std::string format_chat(const Tokenizer& tok, const nlohmann::json& messages, bool add_generation_prompt,
                        const nlohmann::ordered_json& tools = nullptr);
// Messages as the template expects its tool calls: OpenAI sends arguments as a JSON text;
// templates that write them with `tojson` (V3.1, Llama 3.1, ...) expect an object, so for
// those each call's arguments that parse as an object are passed as one.
nlohmann::json template_messages(std::string_view chat_template, const nlohmann::json& messages);
std::string format_chat_builtin_r1(const nlohmann::json& messages, std::string_view bos_text,
                                   bool add_generation_prompt);
std::vector<int32_t> tokenize_prompt(const Tokenizer& tok, std::string_view text);

// True when the text ends inside an open reasoning block: its last "<think>"
// comes after its last "</think>". Decides ReasoningParser::start_in_reasoning.
bool ends_in_reasoning(std::string_view text);

// Throws r1::Error unless messages has the shape described above.
void validate_messages(const nlohmann::json& messages);

}  // namespace r1
