// libFuzzer entry point for the server's request validation: any body goes through
// the steps of parse_body (depth limit, U+FFFD for invalid UTF-8, JSON parse) and then
// every request parser (chat, completions, tokenize, detokenize) under two sets of
// limits. Each parser must either return a request within its limits or throw an
// ApiError 400 that names a field; any other exception (a JSON type error, say)
// escapes and libFuzzer reports it. Broken invariants trap.
#include <cstddef>
#include <cstdint>
#include <string>

#include <nlohmann/json.hpp>

#include "serve/api_request.hpp"
#include "tokenizer/tokenizer.hpp"

namespace {

using nlohmann::json;
using r1::serve::ApiError;
using r1::serve::ApiRequest;
using r1::serve::RequestLimits;

void check(bool ok) {
  if (!ok) __builtin_trap();
}

// A refusal must be a 400 with a message (and, for a field, the field's name).
void check_refusal(const ApiError& e) {
  check(e.status == 400);
  check(e.type == "invalid_request_error");
  check(std::string(e.what()).size() > 5);
  (void)e.to_json().dump(-1, ' ', false, json::error_handler_t::replace);
}

void check_request(const ApiRequest& r, const RequestLimits& lim) {
  check(r.n >= 1 && r.n <= lim.max_n);
  check(!r.choices.empty() && r.choices.size() % static_cast<size_t>(r.n) == 0);
  check(r.choices.size() <= static_cast<size_t>(lim.max_choices));
  check(r.top_logprobs >= 0 && r.top_logprobs <= lim.max_top_logprobs);
  for (const r1::GenerateRequest& g : r.choices) {
    check(g.max_tokens >= 1 && g.max_tokens <= lim.max_tokens);
    check(g.stop.size() <= static_cast<size_t>(std::max(lim.max_stop, 1)));
    check(g.sampling.temperature >= 0 && g.sampling.temperature <= 2);
    check(g.sampling.top_p > 0 && g.sampling.top_p <= 1);
    check(g.sampling.top_k >= 0);
    check(g.messages.is_array() || !g.prompt_text.empty() || !g.prompt_tokens.empty());
    for (int32_t id : g.prompt_tokens) check(id >= 0);
    if (g.messages.is_array())
      for (const json& m : g.messages) check(m.is_object() && m["role"].is_string());
  }
}

template <class F>
void refused_or_valid(F&& parse) {
  try {
    parse();
  } catch (const ApiError& e) {
    check_refusal(e);
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string raw(reinterpret_cast<const char*>(data), size);
  // parse_body (server.cpp) without the HTTP server: the same three steps.
  if (r1::serve::json_nesting_depth(raw) > 64) return 0;
  const json body = json::parse(r1::sanitize_utf8(raw), nullptr, /*allow_exceptions=*/false);
  if (body.is_discarded()) return 0;

  const RequestLimits defaults;
  const RequestLimits tight{.max_tokens = 64, .max_n = 2, .max_prompts = 2, .max_stop = 1, .max_top_logprobs = 3,
                            .max_choices = 3};
  for (const RequestLimits& lim : {defaults, tight}) {
    refused_or_valid([&] { check_request(r1::serve::parse_chat_request(body, lim), lim); });
    refused_or_valid([&] { check_request(r1::serve::parse_completion_request(body, lim), lim); });
  }
  refused_or_valid([&] {
    const r1::serve::TokenizeRequest t = r1::serve::parse_tokenize_request(body);
    check(t.messages.is_null() || (t.messages.is_array() && !t.messages.empty()));
  });
  refused_or_valid([&] {
    for (int32_t id : r1::serve::parse_detokenize_request(body, 300)) check(id >= 0 && id < 300);
  });
  return 0;
}
