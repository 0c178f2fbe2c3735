// The wire shape of one generation API. Every API is served by the same engine path
// (api_request.hpp's OpenAI-shaped request, one Generation per choice, ChoiceOutput and
// EventDelta in api_response.hpp); a Dialect turns those into one API's response body and
// stream. One Dialect object serves one request (a stream may keep state: which content
// block is open).
//
// Contracts:
// - stream_*() return the bytes to send (possibly empty); they never throw for any
//   ChoiceOutput/EventDelta the engine produces.
// - The stream is: stream_begin, then stream_delta for each event that carries text or
//   calls, stream_finish when a choice ends normally, and stream_end (with the error, if
//   the work failed or was cancelled by a shutdown).
#pragma once
#include <memory>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "serve/api_error.hpp"
#include "serve/api_response.hpp"

namespace r1::serve {

class Dialect {
 public:
  virtual ~Dialect() = default;
  virtual const char* stream_content_type() const { return "text/event-stream"; }
  virtual std::string stream_begin(const ResponseContext& ctx, size_t n_choices) = 0;
  virtual std::string stream_delta(const ResponseContext& ctx, int32_t index, const EventDelta& d) = 0;
  virtual std::string stream_finish(const ResponseContext& ctx, int32_t index, const ChoiceOutput& c) = 0;
  virtual std::string stream_end(const ResponseContext& ctx, const std::vector<ChoiceOutput>& out, bool include_usage,
                                 const ApiError* error) = 0;
  virtual nlohmann::json response(const ResponseContext& ctx, const std::vector<ChoiceOutput>& out, bool logprobs) = 0;
  // The body of an error answer (OpenAI's {"error": {...}} unless the API has its own).
  virtual nlohmann::json error_body(const ApiError& e) const { return e.to_json(); }
};

// OpenAI chat/completions (chat) or completions (!chat): SSE "data: {...}" chunks, then
// an error event or the usage chunk (stream_options.include_usage), then "data: [DONE]".
std::unique_ptr<Dialect> openai_dialect(bool chat);

}  // namespace r1::serve
