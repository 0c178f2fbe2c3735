#include "serve/ollama_api.hpp"

#include <chrono>
#include <ctime>

#include <fmt/format.h>

namespace r1::serve {

namespace {

using ojson = nlohmann::ordered_json;
using nlohmann::json;

ojson parse_object(std::string_view raw) {
  ojson body = ojson::parse(raw.begin(), raw.end(), nullptr, false);
  if (body.is_discarded()) throw ApiError(400, "the request body is not valid JSON");
  if (!body.is_object()) throw ApiError(400, "the request body must be a JSON object");
  return body;
}

// Fields every generation request shares: options, format, think, stream, tools.
void common_fields(const ojson& body, ojson& out) {
  if (body.contains("model")) out["model"] = body["model"];
  out["stream"] = body.contains("stream") && !body["stream"].is_null() ? body["stream"] : ojson(true);
  if (body.contains("options") && !body["options"].is_null()) {
    const ojson& o = body["options"];
    if (!o.is_object()) throw bad_param("options", "'options' must be an object");
    for (const char* k : {"temperature", "top_p", "top_k", "min_p", "seed", "stop", "repeat_penalty",
                          "presence_penalty", "frequency_penalty"})
      if (o.contains(k) && !o[k].is_null()) out[k] = o[k];
    if (o.contains("num_predict") && !o["num_predict"].is_null()) {
      const ojson& n = o["num_predict"];
      if (!n.is_number_integer()) throw bad_param("options.num_predict", "'options.num_predict' must be an integer");
      if (n.get<int64_t>() >= 0) out["max_tokens"] = n.get<int64_t>() == 0 ? ojson(1) : n;
    }
  }
  if (body.contains("format") && !body["format"].is_null()) {
    const ojson& f = body["format"];
    if (f == "json") out["response_format"] = {{"type", "json_object"}};
    else if (f.is_object()) out["json_schema"] = f;
    else if (!(f.is_string() && f.get<std::string>().empty()))
      throw bad_param("format", "'format' must be \"json\" or a JSON Schema object");
  }
  if (body.contains("think") && !body["think"].is_null()) {
    const ojson& t = body["think"];
    if (t == false) out["thinking"] = {{"type", "disabled"}};
    else if (t.is_string()) out["reasoning_effort"] = t;  // low / medium / high (validated downstream)
    else if (t != true) throw bad_param("think", "'think' must be true, false, \"low\", \"medium\" or \"high\"");
  }
  if (body.contains("tools") && !body["tools"].is_null()) out["tools"] = body["tools"];
}

json created(const ResponseContext&) { return iso_time_now(); }

json message_delta(const EventDelta& d) {
  json m = {{"role", "assistant"}, {"content", d.content}};
  if (!d.reasoning.empty()) m["thinking"] = d.reasoning;
  if (d.tool_calls.is_array()) {
    json calls = json::array();
    for (const json& c : d.tool_calls)
      calls.push_back({{"function", {{"name", c["function"]["name"]},
                                     {"arguments", json::parse(c["function"]["arguments"].get<std::string>(), nullptr, false)}}}});
    m["tool_calls"] = calls;
  }
  return m;
}

class OllamaDialect final : public Dialect {
 public:
  explicit OllamaDialect(bool generate) : generate_(generate) {}
  const char* stream_content_type() const override { return "application/x-ndjson"; }

  std::string stream_begin(const ResponseContext&, size_t) override { return ""; }

  std::string stream_delta(const ResponseContext& ctx, int32_t, const EventDelta& d) override {
    json j = {{"model", ctx.model}, {"created_at", created(ctx)}};
    if (generate_) {
      j["response"] = d.content;
      if (!d.reasoning.empty()) j["thinking"] = d.reasoning;
    } else {
      j["message"] = message_delta(d);
    }
    j["done"] = false;
    return dump(j) + "\n";
  }

  std::string stream_finish(const ResponseContext& ctx, int32_t, const ChoiceOutput& c) override {
    json j = final_object(ctx, c);
    if (generate_) j["response"] = "";
    else j["message"] = {{"role", "assistant"}, {"content", ""}};
    return dump(j) + "\n";
  }

  std::string stream_end(const ResponseContext&, const std::vector<ChoiceOutput>&, bool, const ApiError* error) override {
    return error ? dump(error_body(*error)) + "\n" : "";
  }

  json response(const ResponseContext& ctx, const std::vector<ChoiceOutput>& out, bool) override {
    const ChoiceOutput& c = out.front();
    json j = final_object(ctx, c);
    EventDelta all;
    all.content = c.calls.empty() ? c.content : c.answer;
    all.reasoning = c.reasoning;
    if (!c.calls.empty()) {
      all.tool_calls = json::array();
      for (const ToolCall& t : c.calls) all.tool_calls.push_back({{"function", {{"name", t.name}, {"arguments", t.arguments}}}});
    }
    if (generate_) {
      j["response"] = all.content;
      if (!all.reasoning.empty()) j["thinking"] = all.reasoning;
    } else {
      j["message"] = message_delta(all);
    }
    return j;
  }

  json error_body(const ApiError& e) const override { return {{"error", e.what()}}; }

 private:
  static json final_object(const ResponseContext& ctx, const ChoiceOutput& c) {
    const GenerateSummary& s = c.summary;
    const auto ns = [](double ms) { return static_cast<int64_t>(ms * 1e6); };
    const bool length = s.finish == FinishReason::length || s.finish == FinishReason::budget;
    return {{"model", ctx.model},
            {"created_at", iso_time_now()},
            {"done", true},
            {"done_reason", length ? "length" : "stop"},
            {"total_duration", ns(s.prefill_ms + s.decode_ms)},
            {"load_duration", 0},
            {"prompt_eval_count", s.prompt_tokens},
            {"prompt_eval_duration", ns(s.prefill_ms)},
            {"eval_count", s.generated_tokens},
            {"eval_duration", ns(s.decode_ms)}};
  }

  bool generate_;
};

json details(const OllamaModelInfo& m) {
  const double b = static_cast<double>(m.parameters) / 1e9;
  const std::string size = m.parameters <= 0 ? std::string()
                           : b >= 1         ? fmt::format("{:.1f}B", b)
                                            : fmt::format("{:.0f}M", static_cast<double>(m.parameters) / 1e6);
  return {{"parent_model", ""}, {"format", "gguf"}, {"family", m.arch}, {"families", json::array({m.arch})},
          {"parameter_size", size}, {"quantization_level", m.quantization}};
}

}  // namespace

std::string iso_time_now() {
  using namespace std::chrono;
  const auto now = system_clock::now();
  const std::time_t t = system_clock::to_time_t(now);
  std::tm tm{};
  gmtime_r(&t, &tm);
  const auto us = duration_cast<microseconds>(now.time_since_epoch()).count() % 1000000;
  return fmt::format("{:04}-{:02}-{:02}T{:02}:{:02}:{:02}.{:06}Z", tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday, tm.tm_hour,
                     tm.tm_min, tm.tm_sec, us);
}

std::string ollama_chat_to_openai(std::string_view raw) {
  const ojson body = parse_object(raw);
  ojson chat = ojson::object();
  common_fields(body, chat);
  if (!body.contains("messages")) throw bad_param("messages", "'messages' is required");
  const ojson& msgs = body["messages"];
  if (!msgs.is_array()) throw bad_param("messages", "'messages' must be an array");
  ojson out = ojson::array();
  for (size_t i = 0; i < msgs.size(); ++i) {
    const ojson& m = msgs[i];
    const std::string where = fmt::format("messages[{}]", i);
    if (!m.is_object()) throw bad_param(where, where + " must be an object");
    if (m.contains("images") && !m["images"].is_null() && !(m["images"].is_array() && m["images"].empty()))
      throw bad_param(where + ".images", "images are not supported (the served model reads text only)");
    ojson n = ojson::object();
    if (m.contains("role")) n["role"] = m["role"];
    n["content"] = m.contains("content") ? m["content"] : ojson("");
    if (m.contains("tool_calls") && m["tool_calls"].is_array()) {
      ojson calls = ojson::array();
      for (const ojson& c : m["tool_calls"]) {
        if (!c.is_object() || !c.contains("function") || !c["function"].is_object())
          throw bad_param(where + ".tool_calls", where + ".tool_calls entries need a 'function' object");
        const ojson& f = c["function"];
        const ojson args = f.contains("arguments") ? f["arguments"] : ojson::object();
        calls.push_back({{"type", "function"},
                         {"function", {{"name", f.contains("name") ? f["name"] : ojson("")},
                                       {"arguments", args.is_string() ? args.get<std::string>() : args.dump()}}}});
      }
      n["tool_calls"] = calls;
      if (n["content"] == "") n["content"] = nullptr;
    }
    out.push_back(std::move(n));
  }
  chat["messages"] = std::move(out);
  return chat.dump(-1, ' ', false, json::error_handler_t::replace);
}

std::string ollama_generate_to_openai(std::string_view raw, bool* chat_out) {
  const ojson body = parse_object(raw);
  ojson req = ojson::object();
  common_fields(body, req);
  for (const char* k : {"suffix", "images", "context"})
    if (body.contains(k) && !body[k].is_null() && !(body[k].is_array() && body[k].empty()) && body[k] != "")
      throw bad_param(k, fmt::format("'{}' is not supported", k));
  if (!body.contains("prompt") || !body["prompt"].is_string()) throw bad_param("prompt", "'prompt' must be a string");
  const bool raw_mode = body.contains("raw") && body["raw"] == true;
  *chat_out = !raw_mode;
  if (raw_mode) {
    req["prompt"] = body["prompt"];
    if (!req.contains("max_tokens")) req["max_tokens"] = 4096;  // ollama generates until the end, not 16 tokens
    req.erase("tools");
  } else {
    ojson msgs = ojson::array();
    if (body.contains("system") && body["system"].is_string()) msgs.push_back({{"role", "system"}, {"content", body["system"]}});
    msgs.push_back({{"role", "user"}, {"content", body["prompt"]}});
    req["messages"] = std::move(msgs);
  }
  return req.dump(-1, ' ', false, json::error_handler_t::replace);
}

std::unique_ptr<Dialect> ollama_dialect(bool generate) { return std::make_unique<OllamaDialect>(generate); }

json ollama_tags(const OllamaModelInfo& m) {
  return {{"models", json::array({{{"name", m.name}, {"model", m.name}, {"modified_at", m.modified_at},
                                   {"size", m.size_bytes}, {"digest", ""}, {"details", details(m)}}})}};
}

json ollama_ps(const OllamaModelInfo& m) {
  return {{"models", json::array({{{"name", m.name}, {"model", m.name}, {"size", m.size_bytes}, {"digest", ""},
                                   {"details", details(m)}, {"expires_at", "2318-01-01T00:00:00Z"},
                                   {"size_vram", 0}, {"context_length", m.n_ctx_train}}})}};
}

json ollama_show(const OllamaModelInfo& m, const json& body) {
  std::string name;
  if (body.is_object()) {
    if (body.contains("model") && body["model"].is_string()) name = body["model"].get<std::string>();
    else if (body.contains("name") && body["name"].is_string()) name = body["name"].get<std::string>();
  }
  if (name.empty()) throw bad_param("model", "'model' is required");
  if (name != m.name && name != m.name + ":latest")
    throw ApiError(404, fmt::format("model '{}' not found", name), "invalid_request_error", "model", "model_not_found");
  json info = {{"general.architecture", m.arch}, {"general.parameter_count", m.parameters},
               {m.arch + ".context_length", m.n_ctx_train}};
  return {{"modelfile", ""}, {"parameters", ""}, {"template", m.chat_template}, {"details", details(m)},
          {"model_info", info}, {"capabilities", json::array({"completion", "tools", "thinking"})},
          {"modified_at", m.modified_at}};
}

}  // namespace r1::serve
