#include "serve/anthropic_api.hpp"

#include <fmt/format.h>

namespace r1::serve {

namespace {

using ojson = nlohmann::ordered_json;
using nlohmann::json;

const char* kind(const ojson& v) {
  if (v.is_string()) return "a string";
  if (v.is_boolean()) return "a boolean";
  if (v.is_number()) return "a number";
  if (v.is_array()) return "an array";
  if (v.is_object()) return "an object";
  return "null";
}

// Text of a string or an array of {"type": "text", "text"} blocks.
std::string text_of(const ojson& v, const std::string& where) {
  if (v.is_string()) return v.get<std::string>();
  if (!v.is_array()) throw bad_param(where, fmt::format("{} must be a string or an array of text blocks, got {}", where, kind(v)));
  std::string out;
  for (size_t i = 0; i < v.size(); ++i) {
    const ojson& b = v[i];
    const std::string at = fmt::format("{}[{}]", where, i);
    if (!b.is_object() || !b.contains("type") || b["type"] != "text" || !b.contains("text") || !b["text"].is_string())
      throw bad_param(at, fmt::format("{} must be a text block {{\"type\": \"text\", \"text\": string}}", at));
    if (!out.empty()) out += "\n";
    out += b["text"].get<std::string>();
  }
  return out;
}

void copy_if(const ojson& from, ojson& to, const char* key, const char* as = nullptr) {
  if (from.contains(key) && !from[key].is_null()) to[as ? as : key] = from[key];
}

ojson translate_messages(const ojson& msgs, ojson& out) {
  if (!msgs.is_array() || msgs.empty()) throw bad_param("messages", "'messages' must be a non-empty array");
  for (size_t i = 0; i < msgs.size(); ++i) {
    const ojson& m = msgs[i];
    const std::string where = fmt::format("messages[{}]", i);
    if (!m.is_object()) throw bad_param(where, where + " must be an object");
    if (!m.contains("role") || !m["role"].is_string() || (m["role"] != "user" && m["role"] != "assistant"))
      throw bad_param(where + ".role", where + ".role must be \"user\" or \"assistant\"");
    const std::string role = m["role"].get<std::string>();
    if (!m.contains("content")) throw bad_param(where + ".content", where + " has no 'content'");
    const ojson& c = m["content"];
    if (c.is_string()) {
      out.push_back({{"role", role}, {"content", c}});
      continue;
    }
    if (!c.is_array()) throw bad_param(where + ".content", where + ".content must be a string or an array of blocks");
    std::string text;
    ojson calls = ojson::array();
    for (size_t k = 0; k < c.size(); ++k) {
      const ojson& b = c[k];
      const std::string at = fmt::format("{}.content[{}]", where, k);
      if (!b.is_object() || !b.contains("type") || !b["type"].is_string()) throw bad_param(at, at + " must be a block with a 'type'");
      const std::string type = b["type"].get<std::string>();
      if (type == "text") {
        if (!b.contains("text") || !b["text"].is_string()) throw bad_param(at + ".text", at + " needs a string 'text'");
        if (!text.empty()) text += "\n";
        text += b["text"].get<std::string>();
      } else if (type == "thinking" || type == "redacted_thinking") {
        // Reasoning from an earlier turn: the R1 template leaves it out of the prompt.
      } else if (type == "tool_use" && role == "assistant") {
        if (!b.contains("name") || !b["name"].is_string()) throw bad_param(at + ".name", at + " needs a string 'name'");
        const ojson input = b.contains("input") ? b["input"] : ojson::object();
        if (!input.is_object()) throw bad_param(at + ".input", at + ".input must be an object");
        calls.push_back({{"id", b.contains("id") && b["id"].is_string() ? b["id"] : ojson("")},
                         {"type", "function"},
                         {"function", {{"name", b["name"]}, {"arguments", input.dump()}}}});
      } else if (type == "tool_result" && role == "user") {
        if (!b.contains("tool_use_id") || !b["tool_use_id"].is_string())
          throw bad_param(at + ".tool_use_id", at + " needs a string 'tool_use_id'");
        std::string result = b.contains("content") && !b["content"].is_null() ? text_of(b["content"], at + ".content") : "";
        if (b.contains("is_error") && b["is_error"] == true) result = "Error: " + result;
        out.push_back({{"role", "tool"}, {"tool_call_id", b["tool_use_id"]}, {"content", result}});
      } else {
        throw bad_param(at + ".type", fmt::format("{}: blocks of type \"{}\" are not supported in a {} message", at, type, role));
      }
    }
    if (role == "assistant") {
      ojson a = {{"role", "assistant"}, {"content", text.empty() && !calls.empty() ? ojson(nullptr) : ojson(text)}};
      if (!calls.empty()) a["tool_calls"] = calls;
      out.push_back(std::move(a));
    } else if (!text.empty() || c.empty()) {
      out.push_back({{"role", "user"}, {"content", text}});
    }
  }
  return out;
}

}  // namespace

std::string anthropic_to_chat(std::string_view raw) {
  ojson body = ojson::parse(raw.begin(), raw.end(), nullptr, false);
  if (body.is_discarded()) throw ApiError(400, "the request body is not valid JSON");
  if (!body.is_object()) throw ApiError(400, "the request body must be a JSON object");
  ojson chat = ojson::object();
  copy_if(body, chat, "model");
  copy_if(body, chat, "max_tokens");
  copy_if(body, chat, "temperature");
  copy_if(body, chat, "top_p");
  copy_if(body, chat, "top_k");
  copy_if(body, chat, "stream");
  copy_if(body, chat, "stop_sequences", "stop");
  copy_if(body, chat, "thinking");
  ojson messages = ojson::array();
  if (body.contains("system") && !body["system"].is_null())
    messages.push_back({{"role", "system"}, {"content", text_of(body["system"], "system")}});
  if (!body.contains("messages")) throw bad_param("messages", "'messages' is required");
  translate_messages(body["messages"], messages);
  chat["messages"] = std::move(messages);
  if (body.contains("tools") && !body["tools"].is_null()) {
    const ojson& tools = body["tools"];
    if (!tools.is_array()) throw bad_param("tools", "'tools' must be an array");
    ojson out = ojson::array();
    for (size_t i = 0; i < tools.size(); ++i) {
      const ojson& t = tools[i];
      const std::string where = fmt::format("tools[{}]", i);
      if (!t.is_object()) throw bad_param(where, where + " must be an object");
      ojson fn = ojson::object();
      copy_if(t, fn, "name");
      copy_if(t, fn, "description");
      copy_if(t, fn, "input_schema", "parameters");
      out.push_back({{"type", "function"}, {"function", fn}});
    }
    chat["tools"] = std::move(out);
  }
  if (body.contains("tool_choice") && !body["tool_choice"].is_null()) {
    const ojson& tc = body["tool_choice"];
    if (!tc.is_object() || !tc.contains("type") || !tc["type"].is_string())
      throw bad_param("tool_choice", "'tool_choice' must be {\"type\": \"auto\" | \"any\" | \"tool\" | \"none\"}");
    const std::string type = tc["type"].get<std::string>();
    if (type == "auto") chat["tool_choice"] = "auto";
    else if (type == "any") chat["tool_choice"] = "required";
    else if (type == "none") chat["tool_choice"] = "none";
    else if (type == "tool") {
      if (!tc.contains("name") || !tc["name"].is_string()) throw bad_param("tool_choice.name", "tool_choice type tool needs a 'name'");
      chat["tool_choice"] = {{"type", "function"}, {"function", {{"name", tc["name"]}}}};
    } else {
      throw bad_param("tool_choice.type", fmt::format("'tool_choice.type' must be auto, any, tool or none, got \"{}\"", type));
    }
    if (tc.contains("disable_parallel_tool_use") && tc["disable_parallel_tool_use"].is_boolean())
      chat["parallel_tool_calls"] = !tc["disable_parallel_tool_use"].get<bool>();
  }
  return chat.dump(-1, ' ', false, json::error_handler_t::replace);
}

namespace {

std::string sse(const char* name, const json& data) { return fmt::format("event: {}\ndata: {}\n\n", name, dump(data)); }

const char* stop_reason(const ChoiceOutput& c) {
  if (!c.calls.empty()) return "tool_use";
  switch (c.summary.finish) {
    case FinishReason::length:
    case FinishReason::budget: return "max_tokens";
    default: return c.summary.stop_string.empty() ? "end_turn" : "stop_sequence";
  }
}

json usage(const GenerateSummary& s) {
  return {{"input_tokens", s.prompt_tokens - s.cached_tokens},
          {"output_tokens", s.generated_tokens},
          {"cache_read_input_tokens", s.cached_tokens},
          {"cache_creation_input_tokens", 0}};
}

class AnthropicDialect final : public Dialect {
 public:
  std::string stream_begin(const ResponseContext& ctx, size_t) override {
    json msg = {{"id", ctx.id}, {"type", "message"}, {"role", "assistant"}, {"model", ctx.model},
                {"content", json::array()}, {"stop_reason", nullptr}, {"stop_sequence", nullptr},
                {"usage", {{"input_tokens", ctx.prompt_tokens}, {"output_tokens", 0}}}};
    return sse("message_start", {{"type", "message_start"}, {"message", msg}});
  }

  std::string stream_delta(const ResponseContext&, int32_t, const EventDelta& d) override {
    std::string s;
    if (!d.reasoning.empty()) s += block_text("thinking", "thinking_delta", "thinking", d.reasoning);
    if (!d.content.empty()) s += block_text("text", "text_delta", "text", d.content);
    if (d.tool_calls.is_array())
      for (const json& call : d.tool_calls) {
        s += close_block();
        s += sse("content_block_start",
                 {{"type", "content_block_start"}, {"index", next_},
                  {"content_block", {{"type", "tool_use"}, {"id", call["id"]}, {"name", call["function"]["name"]},
                                     {"input", json::object()}}}});
        s += sse("content_block_delta", {{"type", "content_block_delta"}, {"index", next_},
                                         {"delta", {{"type", "input_json_delta"}, {"partial_json", call["function"]["arguments"]}}}});
        open_ = "tool_use";
        s += close_block();
      }
    return s;
  }

  std::string stream_finish(const ResponseContext&, int32_t, const ChoiceOutput& c) override {
    std::string s = close_block();
    s += sse("message_delta", {{"type", "message_delta"},
                               {"delta", {{"stop_reason", stop_reason(c)},
                                          {"stop_sequence", c.summary.stop_string.empty() ? json(nullptr) : json(c.summary.stop_string)}}},
                               {"usage", {{"output_tokens", c.summary.generated_tokens}}}});
    return s;
  }

  std::string stream_end(const ResponseContext&, const std::vector<ChoiceOutput>&, bool, const ApiError* error) override {
    if (error) return close_block() + sse("error", error_body(*error));
    return sse("message_stop", {{"type", "message_stop"}});
  }

  json response(const ResponseContext& ctx, const std::vector<ChoiceOutput>& out, bool) override {
    const ChoiceOutput& c = out.front();
    json content = json::array();
    if (!c.reasoning.empty()) content.push_back({{"type", "thinking"}, {"thinking", c.reasoning}, {"signature", ""}});
    const std::string& text = c.calls.empty() ? c.content : c.answer;
    if (!text.empty()) content.push_back({{"type", "text"}, {"text", text}});
    for (size_t k = 0; k < c.calls.size(); ++k)
      content.push_back({{"type", "tool_use"}, {"id", c.call_ids[k]}, {"name", c.calls[k].name},
                         {"input", json::parse(c.calls[k].arguments, nullptr, false)}});
    return {{"id", ctx.id}, {"type", "message"}, {"role", "assistant"}, {"model", ctx.model}, {"content", content},
            {"stop_reason", stop_reason(c)},
            {"stop_sequence", c.summary.stop_string.empty() ? json(nullptr) : json(c.summary.stop_string)},
            {"usage", usage(c.summary)}};
  }

  json error_body(const ApiError& e) const override {
    std::string type = e.type;
    if (e.status == 404) type = "not_found_error";
    else if (e.status == 429) type = "rate_limit_error";
    else if (e.status == 401) type = "authentication_error";
    else if (e.status == 413) type = "request_too_large";
    else if (e.status >= 500) type = e.status == 503 ? "overloaded_error" : "api_error";
    return {{"type", "error"}, {"error", {{"type", type}, {"message", e.what()}}}};
  }

 private:
  // Text into a block of `type`, opening it (and closing another) first when needed.
  std::string block_text(const char* type, const char* delta_type, const char* field, const std::string& text) {
    std::string s;
    if (open_ != type) {
      s += close_block();
      json block = {{"type", type}, {field, ""}};
      if (std::string(type) == "thinking") block["signature"] = "";
      s += sse("content_block_start", {{"type", "content_block_start"}, {"index", next_}, {"content_block", block}});
      open_ = type;
    }
    s += sse("content_block_delta", {{"type", "content_block_delta"}, {"index", next_}, {"delta", {{"type", delta_type}, {field, text}}}});
    return s;
  }

  std::string close_block() {
    if (open_.empty()) return "";
    std::string s = sse("content_block_stop", {{"type", "content_block_stop"}, {"index", next_}});
    open_.clear();
    ++next_;
    return s;
  }

  std::string open_;  // the open block's type ("" = none)
  int next_ = 0;      // index of the open block, or of the next one
};

}  // namespace

std::unique_ptr<Dialect> anthropic_dialect() { return std::make_unique<AnthropicDialect>(); }

}  // namespace r1::serve
