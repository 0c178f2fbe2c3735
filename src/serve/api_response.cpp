#include "serve/api_response.hpp"

#include <algorithm>

#include <fmt/format.h>

#include "tokenizer/tokenizer.hpp"

namespace r1::serve {

using nlohmann::json;

namespace {

json token_json(const Tokenizer& tok, int32_t id, float logprob) {
  const std::string bytes = token_bytes_or_empty(tok, id);
  json b = json::array();
  for (unsigned char c : bytes) b.push_back(static_cast<int>(c));
  return {{"token", sanitize_utf8(bytes)}, {"logprob", logprob}, {"bytes", b}};
}

json chat_logprob_entry(const Tokenizer& tok, const GenerateEvent& ev) {
  json e = token_json(tok, ev.token, ev.logprob);
  json top = json::array();
  for (const auto& [id, lp] : ev.top_logprobs) top.push_back(token_json(tok, id, lp));
  e["top_logprobs"] = std::move(top);
  return e;
}

void add_reasoning_fields(const ResponseContext& ctx, json& obj, const std::string& reasoning) {
  if (ctx.field != ReasoningField::reasoning) obj["reasoning_content"] = reasoning;
  if (ctx.field != ReasoningField::reasoning_content) obj["reasoning"] = reasoning;
}

json legacy_logprobs() {
  return {{"tokens", json::array()},
          {"token_logprobs", json::array()},
          {"top_logprobs", json::array()},
          {"text_offset", json::array()}};
}

// With tools: passes on content only up to where a call block may start; at the end
// reads the calls (or releases the held text as content).
void hold_tool_calls(const ResponseContext& ctx, ChoiceOutput& c, EventDelta& d, bool done) {
  const ToolFormat f = *ctx.tool_format;
  if (!done) {
    const size_t start = tool_call_start(f, c.content);
    const size_t limit = start == std::string::npos ? c.content.size() : start;
    d.content = limit > c.content_sent ? c.content.substr(c.content_sent, limit - c.content_sent) : "";
    c.content_sent = std::max(c.content_sent, limit);
    return;
  }
  ParsedAnswer p = parse_tool_calls(f, c.content);
  if (p.calls.empty()) {
    d.content = c.content.substr(std::min(c.content_sent, c.content.size()));
    c.content_sent = c.content.size();
    return;
  }
  c.calls = std::move(p.calls);
  c.answer = std::move(p.content);
  d.content = p.after;  // the text before the block was passed on already
  c.content_sent = c.content.size();
  d.tool_calls = json::array();
  for (size_t k = 0; k < c.calls.size(); ++k) {
    c.call_ids.push_back(fmt::format("call_{}_{}", ctx.id.substr(ctx.id.find('-') + 1), k));
    d.tool_calls.push_back({{"index", k},
                            {"id", c.call_ids.back()},
                            {"type", "function"},
                            {"function", {{"name", c.calls[k].name}, {"arguments", c.calls[k].arguments}}}});
  }
}

}  // namespace

std::string token_bytes_or_empty(const Tokenizer& tok, int32_t id) {
  return id >= 0 && id < tok.n_vocab() ? tok.token_bytes(id) : std::string();
}

EventDelta apply_event(const ResponseContext& ctx, ChoiceOutput& c, const GenerateEvent& ev, bool in_reasoning,
                       const std::string& open_tag, bool want_logprobs) {
  EventDelta d;
  const bool split = ctx.chat && ctx.format == ReasoningFormat::deepseek;
  if (split) {
    d.reasoning = ev.reasoning;
    d.content = ev.content;
  } else {
    if (ctx.chat && ctx.format == ReasoningFormat::raw && !c.open_tag_sent) d.content = open_tag;
    c.open_tag_sent = true;
    d.content += ev.reasoning;
    d.content += ev.content;
  }
  c.reasoning += d.reasoning;
  c.content += d.content;
  if (ctx.tool_format) hold_tool_calls(ctx, c, d, ev.kind == GenerateEvent::Kind::done);
  d.logprobs = nullptr;
  if (!want_logprobs || ev.kind != GenerateEvent::Kind::token) return d;

  const Tokenizer& tok = *ctx.tok;
  if (ctx.chat) {
    json entry = chat_logprob_entry(tok, ev);
    const bool reasoning_part = split && ev.content.empty() && (!ev.reasoning.empty() || in_reasoning);
    d.logprobs = {{"content", json::array()}};
    if (split) d.logprobs["reasoning_content"] = json::array();
    d.logprobs[reasoning_part ? "reasoning_content" : "content"].push_back(entry);
    (reasoning_part ? c.lp_reasoning : c.lp_content).push_back(std::move(entry));
  } else {
    if (c.lp_legacy.is_null()) c.lp_legacy = legacy_logprobs();
    const std::string bytes = token_bytes_or_empty(tok, ev.token);
    json top = json::object();
    for (const auto& [id, lp] : ev.top_logprobs) {  // highest first: keep the first of equal texts
      const std::string text = sanitize_utf8(token_bytes_or_empty(tok, id));
      if (!top.contains(text)) top[text] = lp;
    }
    json one = legacy_logprobs();
    for (json* dst : {&c.lp_legacy, &one}) {
      (*dst)["tokens"].push_back(sanitize_utf8(bytes));
      (*dst)["token_logprobs"].push_back(ev.logprob);
      (*dst)["top_logprobs"].push_back(top);
      (*dst)["text_offset"].push_back(c.text_bytes);
    }
    c.text_bytes += static_cast<int64_t>(bytes.size());
    d.logprobs = std::move(one);
  }
  return d;
}

const char* finish_reason_text(const GenerateSummary& s) {
  switch (s.finish) {
    case FinishReason::stop: return "stop";
    case FinishReason::length:
    case FinishReason::budget: return "length";
    case FinishReason::cancelled: return "cancelled";
  }
  return "stop";
}

const char* finish_reason_text(const ChoiceOutput& c) {
  return c.calls.empty() ? finish_reason_text(c.summary) : "tool_calls";
}

json usage_json(const ResponseContext& ctx, const std::vector<ChoiceOutput>& choices) {
  int64_t prompt = 0, cached = 0, completion = 0, reasoning = 0;
  for (size_t i = 0; i < choices.size(); ++i) {
    const GenerateSummary& s = choices[i].summary;
    if (i % static_cast<size_t>(ctx.n) == 0) {
      prompt += s.prompt_tokens;
      cached += s.cached_tokens;
    }
    completion += s.generated_tokens;
    reasoning += s.reasoning_tokens;
  }
  return {{"prompt_tokens", prompt},
          {"completion_tokens", completion},
          {"total_tokens", prompt + completion},
          {"prompt_tokens_details", {{"cached_tokens", cached}}},
          {"completion_tokens_details", {{"reasoning_tokens", reasoning}}}};
}

json chat_response(const ResponseContext& ctx, const std::vector<ChoiceOutput>& choices, bool logprobs) {
  json out = {{"id", ctx.id},          {"object", "chat.completion"},          {"created", ctx.created},
              {"model", ctx.model},    {"system_fingerprint", ctx.fingerprint}, {"choices", json::array()}};
  for (size_t i = 0; i < choices.size(); ++i) {
    const ChoiceOutput& c = choices[i];
    json msg = {{"role", "assistant"}, {"content", c.content}};
    if (!c.calls.empty()) {
      msg["content"] = c.answer.empty() ? json(nullptr) : json(c.answer);
      json calls = json::array();
      for (size_t k = 0; k < c.calls.size(); ++k)
        calls.push_back({{"id", c.call_ids[k]},
                         {"type", "function"},
                         {"function", {{"name", c.calls[k].name}, {"arguments", c.calls[k].arguments}}}});
      msg["tool_calls"] = std::move(calls);
    }
    if (ctx.format == ReasoningFormat::deepseek) add_reasoning_fields(ctx, msg, c.reasoning);
    json lp = nullptr;
    if (logprobs) {
      lp = {{"content", c.lp_content}, {"refusal", nullptr}};
      if (ctx.format == ReasoningFormat::deepseek) lp["reasoning_content"] = c.lp_reasoning;
    }
    out["choices"].push_back({{"index", i}, {"message", msg}, {"logprobs", lp},
                              {"finish_reason", finish_reason_text(c)}});
  }
  out["usage"] = usage_json(ctx, choices);
  return out;
}

json completion_response(const ResponseContext& ctx, const std::vector<ChoiceOutput>& choices, bool logprobs) {
  json out = {{"id", ctx.id},       {"object", "text_completion"},          {"created", ctx.created},
              {"model", ctx.model}, {"system_fingerprint", ctx.fingerprint}, {"choices", json::array()}};
  for (size_t i = 0; i < choices.size(); ++i) {
    const ChoiceOutput& c = choices[i];
    json lp = nullptr;
    if (logprobs) lp = c.lp_legacy.is_null() ? legacy_logprobs() : c.lp_legacy;
    out["choices"].push_back({{"index", i}, {"text", c.content}, {"logprobs", lp},
                              {"finish_reason", finish_reason_text(c.summary)}});
  }
  out["usage"] = usage_json(ctx, choices);
  return out;
}

json chat_chunk(const ResponseContext& ctx, int32_t index, const EventDelta& d, const std::string& finish, bool role) {
  json delta = json::object();
  if (role) {
    delta["role"] = "assistant";
    delta["content"] = "";
  }
  if (!d.reasoning.empty()) add_reasoning_fields(ctx, delta, d.reasoning);
  if (!d.content.empty()) delta["content"] = d.content;
  if (!d.tool_calls.is_null()) delta["tool_calls"] = d.tool_calls;
  json choice = {{"index", index}, {"delta", delta}, {"logprobs", d.logprobs},
                 {"finish_reason", finish.empty() ? json(nullptr) : json(finish)}};
  return {{"id", ctx.id},       {"object", "chat.completion.chunk"},     {"created", ctx.created},
          {"model", ctx.model}, {"system_fingerprint", ctx.fingerprint}, {"choices", json::array({choice})}};
}

json completion_chunk(const ResponseContext& ctx, int32_t index, const std::string& text, const json& logprobs,
                      const std::string& finish) {
  json choice = {{"index", index}, {"text", text}, {"logprobs", logprobs},
                 {"finish_reason", finish.empty() ? json(nullptr) : json(finish)}};
  return {{"id", ctx.id},       {"object", "text_completion"},           {"created", ctx.created},
          {"model", ctx.model}, {"system_fingerprint", ctx.fingerprint}, {"choices", json::array({choice})}};
}

json usage_chunk(const ResponseContext& ctx, const std::vector<ChoiceOutput>& choices) {
  return {{"id", ctx.id},
          {"object", ctx.chat ? "chat.completion.chunk" : "text_completion"},
          {"created", ctx.created},
          {"model", ctx.model},
          {"system_fingerprint", ctx.fingerprint},
          {"choices", json::array()},
          {"usage", usage_json(ctx, choices)}};
}

bool run_sse_guarded(const std::function<bool()>& produce, const std::function<ApiError(const char* what)>& on_failure,
                     const std::function<bool(const std::string&)>& write_end) noexcept {
  const auto end_with = [&](const char* what) noexcept {
    try {
      return write_end("data: " + dump(on_failure(what).to_json()) + "\n\ndata: [DONE]\n\n");
    } catch (...) {
      return false;
    }
  };
  try {
    return produce();
  } catch (const std::exception& e) {
    return end_with(e.what());
  } catch (...) {
    return end_with("unknown exception");
  }
}

std::string dump(const json& j) { return j.dump(-1, ' ', false, json::error_handler_t::replace); }

}  // namespace r1::serve
