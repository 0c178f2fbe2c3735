// Anthropic's Messages API (POST /v1/messages) on the engine's chat path.
//
// Request (anthropic_to_chat): model, max_tokens, system (a string or text blocks),
// messages (role user / assistant; content a string or blocks: text, thinking and
// redacted_thinking (history: dropped, as the R1 template drops reasoning), tool_use
// (assistant), tool_result (user; content a string or text blocks)), stop_sequences,
// temperature, top_p, top_k, stream, thinking ({"type": "enabled", "budget_tokens"} |
// {"type": "disabled"}), tools ([{name, description, input_schema}]), tool_choice
// ({"type": "auto" | "any" | "tool" | "none", "name", "disable_parallel_tool_use"}),
// metadata (ignored). It becomes the OpenAI chat body that parse_chat_request reads, with
// key order kept. Bad fields are ApiError 400s naming them in Anthropic's terms
// ("messages[1].content[0].tool_use_id"); images and documents are refused.
//
// Response (anthropic_dialect): {"id": "msg_…", "type": "message", "role": "assistant",
// "model", "content": [thinking block (the reasoning, signature ""), text block, tool_use
// blocks {id, name, input}], "stop_reason": end_turn | max_tokens | stop_sequence |
// tool_use, "stop_sequence", "usage": {input_tokens, output_tokens,
// cache_read_input_tokens, cache_creation_input_tokens: 0}}. Streams as Anthropic's SSE
// events: message_start, content_block_start / content_block_delta (thinking_delta,
// text_delta, input_json_delta) / content_block_stop, message_delta (stop_reason, usage),
// message_stop; an error mid-stream as an "error" event. Errors: {"type": "error",
// "error": {"type", "message"}}. Authentication also accepts "x-api-key: KEY".
#pragma once
#include <memory>
#include <string>

#include <nlohmann/json.hpp>

#include "serve/dialect.hpp"

namespace r1::serve {

// raw: the request body's text. Returns the chat request body's text.
std::string anthropic_to_chat(std::string_view raw);
std::unique_ptr<Dialect> anthropic_dialect();

}  // namespace r1::serve
