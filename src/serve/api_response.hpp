// OpenAI/DeepSeek response bodies and stream chunks built from generation events.
//
// Contracts:
// - Chat: message.content is always a string ("" when the answer is empty, e.g.
//   when max_tokens ended inside the reasoning; never null). With reasoning
//   format deepseek the reasoning goes to message.reasoning_content (and/or
//   message.reasoning, per the server's --reasoning-field); with none/raw it
//   stays in content and no reasoning field is sent.
// - finish_reason: "stop" (end-of-generation token or a stop string), "length"
//   (max_tokens or the context ran out, inside the reasoning too).
// - usage: prompt_tokens counts each distinct prompt once; completion_tokens all
//   generated tokens of every choice (reasoning included), with
//   completion_tokens_details.reasoning_tokens and prompt_tokens_details.cached_tokens.
// - Log-probabilities: natural logs under the model's raw distribution. Chat:
//   logprobs.content holds the answer's tokens and, with format deepseek,
//   logprobs.reasoning_content the reasoning's (a token belongs to the part its
//   text went to; a token whose text is still held back, to the part the output
//   is in). Token text is the token's bytes with invalid UTF-8 replaced by
//   U+FFFD; `bytes` has the exact bytes. Ids the model has but the tokenizer has not
//   (more embedding rows than tokens) have no bytes: token "" and bytes []. In the
//   legacy completions shape, alternatives with equal text keep the likelier one.
// - All strings are valid UTF-8: dump() replaces anything invalid with U+FFFD.
#pragma once
#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "engine/generate.hpp"
#include "engine/tool_calls.hpp"
#include "serve/api_request.hpp"

namespace r1 {
class Tokenizer;
}

namespace r1::serve {

enum class ReasoningField { reasoning_content, reasoning, both };

struct ResponseContext {
  bool chat = true;
  std::string id;                // "chatcmpl-..." / "cmpl-..."
  int64_t created = 0;           // unix seconds
  std::string model;
  std::string fingerprint;       // system_fingerprint
  ReasoningField field = ReasoningField::reasoning_content;
  ReasoningFormat format = ReasoningFormat::deepseek;
  int32_t n = 1;                 // choices per prompt
  const Tokenizer* tok = nullptr;
  // Chat with tools (not tool_choice none): answers are read for calls in this format.
  // Streamed content stops where a call block may begin (tool_call_start) and is held
  // until the answer ends; then the calls go out as delta.tool_calls (one entry per call,
  // with index, id, type, function {name, arguments}) and finish_reason is "tool_calls",
  // or, when the held text is no call block, it goes out as content.
  std::optional<ToolFormat> tool_format;
  int64_t prompt_tokens = 0;     // of the first prompt (what a stream's first event may report)
};

// One choice as it accumulates.
struct ChoiceOutput {
  std::string reasoning, content;    // deepseek: split; none/raw and completions: all in content
  nlohmann::json lp_content = nlohmann::json::array(), lp_reasoning = nlohmann::json::array();
  nlohmann::json lp_legacy;          // completions: {tokens, token_logprobs, top_logprobs, text_offset}
  int64_t text_bytes = 0;            // completions: bytes of the tokens so far (text_offset)
  bool open_tag_sent = false;        // raw: the opening tag was put in front
  size_t content_sent = 0;           // with tools: bytes of `content` passed on so far
  std::vector<ToolCall> calls;       // with tools: the calls the answer made (at the end)
  std::vector<std::string> call_ids;
  std::string answer;                // with calls: the content besides them
  bool done = false;
  GenerateSummary summary;
};

// The text an event adds to each part of a choice, per the reasoning format.
// `open_tag` is what raw puts in front of the first event ("" otherwise).
struct EventDelta {
  std::string reasoning, content;
  nlohmann::json logprobs;           // chat chunk logprobs object, or null
  nlohmann::json tool_calls;         // chat chunk delta.tool_calls, or null
};
EventDelta apply_event(const ResponseContext& ctx, ChoiceOutput& c, const GenerateEvent& ev, bool in_reasoning,
                       const std::string& open_tag, bool want_logprobs);

const char* finish_reason_text(const GenerateSummary& s);
// "tool_calls" when the choice made calls, else finish_reason_text(summary).
const char* finish_reason_text(const ChoiceOutput& c);
nlohmann::json usage_json(const ResponseContext& ctx, const std::vector<ChoiceOutput>& choices);

nlohmann::json chat_response(const ResponseContext& ctx, const std::vector<ChoiceOutput>& choices, bool logprobs);
nlohmann::json completion_response(const ResponseContext& ctx, const std::vector<ChoiceOutput>& choices, bool logprobs);

// One stream chunk for choice `index`: delta parts (empty strings are left out),
// logprobs (null: none), finish_reason ("" : null). `role` adds the assistant role.
nlohmann::json chat_chunk(const ResponseContext& ctx, int32_t index, const EventDelta& d, const std::string& finish,
                          bool role);
nlohmann::json completion_chunk(const ResponseContext& ctx, int32_t index, const std::string& text,
                                const nlohmann::json& logprobs, const std::string& finish);
// The last chunk with stream_options.include_usage: no choices, the usage.
nlohmann::json usage_chunk(const ResponseContext& ctx, const std::vector<ChoiceOutput>& choices);

// Runs the body of one SSE stream and never throws. `produce` writes the events and
// [DONE] and returns false when the client is gone. Should it throw, `on_failure(what)`
// (which must not throw: it cancels the request's work and logs) gives the error, and
// `write_end` gets "data: <error>\n\ndata: [DONE]\n\n" (it returns false when that
// write fails). The events sent before are whole, so the stream stays well-formed.
// Returns what produce or write_end returned (false if write_end threw).
bool run_sse_guarded(const std::function<bool()>& produce, const std::function<ApiError(const char* what)>& on_failure,
                     const std::function<bool(const std::string&)>& write_end) noexcept;

// The bytes of token `id`, or "" when the tokenizer has no such token (see above).
std::string token_bytes_or_empty(const Tokenizer& tok, int32_t id);

// JSON text with invalid UTF-8 replaced (never throws on strings).
std::string dump(const nlohmann::json& j);

}  // namespace r1::serve
