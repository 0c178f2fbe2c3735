// OpenAI/DeepSeek request bodies -> validated generation requests.
//
// Contracts:
// - parse_chat_request() / parse_completion_request() take the parsed JSON body
//   and return one GenerateRequest per choice (prompt-major: choice index =
//   prompt_index * n + i), or throw ApiError (HTTP 400, type
//   "invalid_request_error", `param` naming the offending field, nested fields as
//   "stream_options.include_usage" / "messages[2].content"). They throw nothing
//   else: no JSON library exception escapes for any input. Unknown fields are
//   ignored; null means "absent" for every optional field. Nothing here reads or
//   writes files.
// - Per-request work is bounded: n <= limits.max_n, prompts <= limits.max_prompts,
//   prompts x n <= limits.max_choices (the server sets it to the request's share of
//   the queue), max_tokens <= limits.max_tokens (the context by default).
// - logit_bias: {} or null only (the sampler has no biases); anything else is 400.
// - The answer's constraint (GenerateRequest::grammar, applied after the reasoning):
//   response_format {"type": "text" | "json_object" | "json_schema", "json_schema":
//   {"name", "schema", "strict"}}, or the extensions "grammar" (GBNF text) and
//   "json_schema" (a schema); at most one. An invalid grammar or an unsupported schema
//   keyword is a 400 naming the field ("response_format.json_schema.schema").
// - Chat messages: roles system, developer (treated as system), user, assistant,
//   tool; content a string, null (assistant) or an array of {"type":"text"} parts
//   (joined). Only role, content and tool_calls reach the chat template: a
//   client's `reasoning_content` in history is dropped, and reasoning kept inside
//   an earlier answer's content is dropped by the template.
// - max_completion_tokens (or max_tokens) counts every generated token,
//   reasoning included. Absent: chat generates until the context is full (at most
//   limits.max_tokens); completions default to 16 tokens (OpenAI's legacy default).
// - seed: any integer in [-2^63, 2^64) (negative ones as their two's complement),
//   always used as given (SamplingParams::exact_seed; 4294967295 is not "random"
//   here). With n > 1 choice i uses seed s + i (mod 2^64), so every choice is
//   reproducible and the choices differ. No seed (or null): random per choice.
// - reasoning budget: thinking_budget (tokens) wins over thinking.budget_tokens
//   (Anthropic style), which wins over reasoning_effort (low / medium / high ->
//   effort_budget()). thinking {"type": "disabled"} skips the reasoning.
#pragma once
#include <cstdint>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "engine/generate.hpp"
#include "serve/api_error.hpp"

namespace r1::serve {

enum class ReasoningFormat {
  deepseek,  // reasoning apart from the answer (message.reasoning_content)
  none,      // no split: the generated text, verbatim, in content
  raw,       // as none, with the opening <think> the prompt ended with put back in front
};

struct RequestLimits {
  int32_t max_tokens = 32768;    // upper bound for max_tokens (and the default for chat)
  int32_t max_n = 8;             // upper bound for n (choices per prompt)
  int32_t max_prompts = 8;       // prompts per /v1/completions request
  int32_t max_stop = 16;         // stop strings per request
  int32_t max_top_logprobs = 20;
  int32_t max_choices = 64;      // prompts x n per request
  int32_t max_tools = 128;       // entries of "tools"
};

// Tools of a chat request (OpenAI's tools / tool_choice / parallel_tool_calls).
// tools: validated ([{"type": "function", "function": {"name": [A-Za-z0-9_-]{1,64}, unique,
// "description"?: string, "parameters"?: object}}], at most limits.max_tools), key order
// kept from the raw body. tool_choice "required" or a named function needs tools (and the
// name among them); anything else is a 400 naming tools[i]... or tool_choice.
enum class ToolChoice { none, automatic, required, named };
struct ToolRequest {
  nlohmann::ordered_json tools;      // null: no tools
  ToolChoice choice = ToolChoice::automatic;
  std::string name;                  // ToolChoice::named
  bool parallel = true;              // parallel_tool_calls
  bool active() const { return tools.is_array() && !tools.empty() && choice != ToolChoice::none; }
  bool forced() const { return active() && (choice == ToolChoice::required || choice == ToolChoice::named); }
};

struct ApiRequest {
  std::string model;                 // as sent ("" when absent)
  std::vector<GenerateRequest> choices;
  int32_t n = 1;                     // choices per prompt
  bool stream = false;
  bool include_usage = false;        // stream_options.include_usage
  bool logprobs = false;
  int32_t top_logprobs = 0;
  ReasoningFormat reasoning_format = ReasoningFormat::deepseek;
  ToolRequest tools;                 // chat only
};

// The reasoning budget of a reasoning_effort value; throws ApiError for others.
// low: 1024 tokens, medium: 4096, high: no limit (-1).
int32_t effort_budget(const std::string& effort);

// raw_body: the body's text, when the caller has it: JSON Schemas are read from it with
// their key order kept (properties are generated in the schema's order); without it they
// come out in alphabetical order.
ApiRequest parse_chat_request(const nlohmann::json& body, const RequestLimits& limits, std::string_view raw_body = {});
ApiRequest parse_completion_request(const nlohmann::json& body, const RequestLimits& limits,
                                    std::string_view raw_body = {});

// Chat messages in the shape the chat template expects (see above); throws ApiError.
nlohmann::json normalize_messages(const nlohmann::json& messages);

// POST /tokenize: {"content": string, "add_special"?: bool (false), "parse_special"?:
// bool (true)} or {"messages": [...], "add_generation_prompt"?: bool (true)}, plus
// "with_pieces"?: bool (false). Throws ApiError (400, param named) like the parsers above.
struct TokenizeRequest {
  nlohmann::json messages;           // normalized (normalize_messages), or null: use content
  bool add_generation_prompt = true;
  std::string content;
  bool add_special = false, parse_special = true;
  bool with_pieces = false;
};
TokenizeRequest parse_tokenize_request(const nlohmann::json& body);

// POST /detokenize: {"tokens": [ids in [0, n_vocab)]}. Throws ApiError (400, param "tokens").
std::vector<int32_t> parse_detokenize_request(const nlohmann::json& body, int32_t n_vocab);

// Largest nesting depth of arrays/objects in a JSON text (strings skipped), counted
// without parsing, so that a hostile body cannot exhaust the recursive parser.
int json_nesting_depth(std::string_view text);

}  // namespace r1::serve
