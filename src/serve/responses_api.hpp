// OpenAI's Responses API (POST /v1/responses), stateless, on the engine's chat path.
//
// Request (responses_to_chat): model, input (a string, or items: messages {role user /
// assistant / system / developer, content a string or input_text / output_text parts},
// function_call {call_id, name, arguments}, function_call_output {call_id, output},
// reasoning items (dropped: the R1 template drops earlier reasoning)), instructions (a
// system message first), max_output_tokens, temperature, top_p, stream, tools
// ([{type: "function", name, description, parameters}]), tool_choice ("auto" | "none" |
// "required" | {type: "function", name}), parallel_tool_calls, text.format (text |
// json_object | json_schema {name, schema, strict}), reasoning.effort (low / medium /
// high), store (accepted, nothing is stored), metadata (ignored). previous_response_id
// and conversation need stored state: 400. Images, files and built-in tools: 400.
//
// Response (responses_dialect): {"id": "resp_…", "object": "response", "created_at",
// "status": "completed" | "incomplete" (incomplete_details.reason "max_output_tokens"),
// "model", "output": [reasoning item {id "rs_…", summary: [], content: [{type:
// "reasoning_text", text}]}, message item {id "msg_…", role "assistant", content:
// [{type: "output_text", text, annotations: []}]}, function_call items {id "fc_…",
// call_id, name, arguments}], "usage": {input_tokens, input_tokens_details.cached_tokens,
// output_tokens, output_tokens_details.reasoning_tokens, total_tokens}, error: null}.
// Streams as the API's typed events, each with a sequence_number: response.created,
// response.in_progress, response.output_item.added / .done, response.reasoning_text.delta
// / .done, response.content_part.added / .done, response.output_text.delta / .done,
// response.function_call_arguments.delta / .done, response.completed (or .incomplete);
// a failure mid-stream is an "error" event.
#pragma once
#include <memory>
#include <string>
#include <string_view>

#include "serve/dialect.hpp"

namespace r1::serve {

std::string responses_to_chat(std::string_view raw);
std::unique_ptr<Dialect> responses_dialect();

}  // namespace r1::serve
