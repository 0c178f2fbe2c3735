// ollama's API on the engine: POST /api/chat and /api/generate (on the generation path),
// and the model routes GET /api/tags, POST /api/show, GET /api/ps, GET /api/version.
//
// Requests: model, messages (role system / user / assistant / tool; content; thinking
// (history: dropped); tool_calls [{function: {name, arguments: object}}]; images refused),
// prompt + system + raw (/api/generate; raw: the prompt as-is, no template), tools
// (OpenAI's shape), format ("json" or a JSON Schema), think (true | false | "low" |
// "medium" | "high"), stream (default true, as ollama), options {temperature, top_p,
// top_k, min_p, seed, num_predict (-1: no limit), stop, repeat_penalty, presence_penalty,
// frequency_penalty; others ignored}, keep_alive (ignored: the model stays loaded).
// Each becomes the OpenAI body parse_chat_request / parse_completion_request reads.
//
// Responses: newline-delimited JSON when streaming ({"model", "created_at", "message":
// {"role": "assistant", "content", "thinking"?, "tool_calls"?}, "done": false} per delta;
// /api/generate has "response" instead of "message"), closed by {"done": true,
// "done_reason": "stop" | "length", "total_duration", "load_duration",
// "prompt_eval_count", "prompt_eval_duration", "eval_count", "eval_duration"} (nanoseconds);
// not streaming: that last object with the whole message. Errors: {"error": message}.
#pragma once
#include <memory>
#include <string>
#include <string_view>

#include <nlohmann/json.hpp>

#include "serve/dialect.hpp"

namespace r1::serve {

std::string ollama_chat_to_openai(std::string_view raw);
// /api/generate: the chat body, or with "raw": true the completion body (*chat = false).
std::string ollama_generate_to_openai(std::string_view raw, bool* chat);
std::unique_ptr<Dialect> ollama_dialect(bool generate);

// What /api/tags, /api/show and /api/ps say about the served model.
struct OllamaModelInfo {
  std::string name;          // the served id
  std::string arch;          // general.architecture
  std::string quantization;  // the file type, e.g. "Q4_K_M" ("" when unknown)
  int64_t parameters = 0;    // 0: unknown
  int64_t size_bytes = 0;
  int64_t n_ctx_train = 0;
  std::string chat_template;
  std::string modified_at;   // ISO 8601 (the file's modification time)
};
nlohmann::json ollama_tags(const OllamaModelInfo& m);
nlohmann::json ollama_ps(const OllamaModelInfo& m);
// POST /api/show body {"model" | "name"}: throws ApiError 404 (ollama's {"error"} body
// is the caller's) for another name.
nlohmann::json ollama_show(const OllamaModelInfo& m, const nlohmann::json& body);

// RFC 3339 UTC time with microseconds ("2026-12-04T20:30:00.123456Z").
std::string iso_time_now();

}  // namespace r1::serve
