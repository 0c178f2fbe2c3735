#include "serve/responses_api.hpp"

#include <fmt/format.h>

namespace r1::serve {

namespace {

using ojson = nlohmann::ordered_json;
using nlohmann::json;

std::string text_parts(const ojson& content, const std::string& where) {
  if (content.is_string()) return content.get<std::string>();
  if (!content.is_array()) throw bad_param(where, where + " must be a string or an array of text parts");
  std::string out;
  for (size_t i = 0; i < content.size(); ++i) {
    const ojson& p = content[i];
    const std::string at = fmt::format("{}[{}]", where, i);
    const std::string type = p.is_object() && p.contains("type") && p["type"].is_string() ? p["type"].get<std::string>() : "";
    if (type != "input_text" && type != "output_text" && type != "text")
      throw bad_param(at, fmt::format("{}: only input_text / output_text parts are supported, got \"{}\"", at, type));
    if (!p.contains("text") || !p["text"].is_string()) throw bad_param(at + ".text", at + " needs a string 'text'");
    if (!out.empty()) out += "\n";
    out += p["text"].get<std::string>();
  }
  return out;
}

}  // namespace

std::string responses_to_chat(std::string_view raw) {
  ojson body = ojson::parse(raw.begin(), raw.end(), nullptr, false);
  if (body.is_discarded()) throw ApiError(400, "the request body is not valid JSON");
  if (!body.is_object()) throw ApiError(400, "the request body must be a JSON object");
  for (const char* k : {"previous_response_id", "conversation"})
    if (body.contains(k) && !body[k].is_null())
      throw bad_param(k, fmt::format("'{}' needs stored responses; this server is stateless (send the whole input)", k));
  ojson chat = ojson::object();
  for (const char* k : {"model", "temperature", "top_p", "stream", "parallel_tool_calls"})
    if (body.contains(k) && !body[k].is_null()) chat[k] = body[k];
  if (body.contains("max_output_tokens") && !body["max_output_tokens"].is_null()) chat["max_tokens"] = body["max_output_tokens"];
  if (body.contains("reasoning") && body["reasoning"].is_object() && body["reasoning"].contains("effort") &&
      !body["reasoning"]["effort"].is_null())
    chat["reasoning_effort"] = body["reasoning"]["effort"];
  ojson msgs = ojson::array();
  if (body.contains("instructions") && body["instructions"].is_string())
    msgs.push_back({{"role", "system"}, {"content", body["instructions"]}});
  if (!body.contains("input")) throw bad_param("input", "'input' is required");
  const ojson& input = body["input"];
  if (input.is_string()) {
    msgs.push_back({{"role", "user"}, {"content", input}});
  } else if (input.is_array()) {
    for (size_t i = 0; i < input.size(); ++i) {
      const ojson& it = input[i];
      const std::string where = fmt::format("input[{}]", i);
      if (!it.is_object()) throw bad_param(where, where + " must be an object");
      const std::string type = it.contains("type") && it["type"].is_string() ? it["type"].get<std::string>() : "message";
      if (type == "message") {
        if (!it.contains("role") || !it["role"].is_string()) throw bad_param(where + ".role", where + " needs a 'role'");
        const std::string role = it["role"].get<std::string>();
        if (role != "user" && role != "assistant" && role != "system" && role != "developer")
          throw bad_param(where + ".role", fmt::format("{}.role must be user, assistant, system or developer", where));
        msgs.push_back({{"role", role}, {"content", text_parts(it.contains("content") ? it["content"] : ojson(""), where + ".content")}});
      } else if (type == "function_call") {
        if (!it.contains("name") || !it["name"].is_string()) throw bad_param(where + ".name", where + " needs a 'name'");
        const ojson call = {{"id", it.contains("call_id") ? it["call_id"] : ojson("")},
                            {"type", "function"},
                            {"function", {{"name", it["name"]}, {"arguments", it.contains("arguments") ? it["arguments"] : ojson("{}")}}}};
        // Consecutive calls belong to one assistant turn.
        if (!msgs.empty() && msgs.back()["role"] == "assistant" && msgs.back().contains("tool_calls"))
          msgs.back()["tool_calls"].push_back(call);
        else
          msgs.push_back({{"role", "assistant"}, {"content", nullptr}, {"tool_calls", ojson::array({call})}});
      } else if (type == "function_call_output") {
        const ojson& out = it.contains("output") ? it["output"] : ojson("");
        msgs.push_back({{"role", "tool"}, {"tool_call_id", it.contains("call_id") ? it["call_id"] : ojson("")},
                        {"content", out.is_string() ? out.get<std::string>() : text_parts(out, where + ".output")}});
      } else if (type == "reasoning") {
        // Earlier reasoning: left out of the prompt, as the R1 template does.
      } else {
        throw bad_param(where + ".type", fmt::format("{}: items of type \"{}\" are not supported", where, type));
      }
    }
  } else {
    throw bad_param("input", "'input' must be a string or an array of items");
  }
  chat["messages"] = std::move(msgs);
  if (body.contains("tools") && !body["tools"].is_null()) {
    if (!body["tools"].is_array()) throw bad_param("tools", "'tools' must be an array");
    ojson tools = ojson::array();
    for (size_t i = 0; i < body["tools"].size(); ++i) {
      const ojson& t = body["tools"][i];
      const std::string where = fmt::format("tools[{}]", i);
      if (!t.is_object() || !t.contains("type") || t["type"] != "function")
        throw bad_param(where + ".type", where + ": only function tools are supported");
      ojson fn = ojson::object();
      for (const char* k : {"name", "description", "parameters", "strict"})
        if (t.contains(k) && !t[k].is_null()) fn[k] = t[k];
      tools.push_back({{"type", "function"}, {"function", fn}});
    }
    chat["tools"] = std::move(tools);
  }
  if (body.contains("tool_choice") && !body["tool_choice"].is_null()) {
    const ojson& tc = body["tool_choice"];
    if (tc.is_object() && tc.contains("type") && tc["type"] == "function" && tc.contains("name"))
      chat["tool_choice"] = {{"type", "function"}, {"function", {{"name", tc["name"]}}}};
    else
      chat["tool_choice"] = tc;
  }
  if (body.contains("text") && body["text"].is_object() && body["text"].contains("format")) {
    const ojson& f = body["text"]["format"];
    const std::string type = f.is_object() && f.contains("type") && f["type"].is_string() ? f["type"].get<std::string>() : "";
    if (type == "json_schema") {
      ojson js = {{"name", f.contains("name") ? f["name"] : ojson("schema")}};
      if (f.contains("schema")) js["schema"] = f["schema"];
      if (f.contains("strict")) js["strict"] = f["strict"];
      chat["response_format"] = {{"type", "json_schema"}, {"json_schema", js}};
    } else if (type == "json_object" || type == "text") {
      chat["response_format"] = {{"type", type}};
    } else {
      throw bad_param("text.format.type", "'text.format.type' must be text, json_object or json_schema");
    }
  }
  return chat.dump(-1, ' ', false, json::error_handler_t::replace);
}

namespace {

json usage_of(const GenerateSummary& s) {
  return {{"input_tokens", s.prompt_tokens},
          {"input_tokens_details", {{"cached_tokens", s.cached_tokens}}},
          {"output_tokens", s.generated_tokens},
          {"output_tokens_details", {{"reasoning_tokens", s.reasoning_tokens}}},
          {"total_tokens", s.prompt_tokens + s.generated_tokens}};
}

bool incomplete(const ChoiceOutput& c) {
  return c.calls.empty() && (c.summary.finish == FinishReason::length || c.summary.finish == FinishReason::budget);
}

class ResponsesDialect final : public Dialect {
 public:
  std::string stream_begin(const ResponseContext& ctx, size_t) override {
    json r = envelope(ctx, "in_progress");
    std::string s = event("response.created", {{"response", r}});
    s += event("response.in_progress", {{"response", r}});
    return s;
  }

  std::string stream_delta(const ResponseContext& ctx, int32_t, const EventDelta& d) override {
    std::string s;
    if (!d.reasoning.empty()) {
      if (open_ != "reasoning") {
        s += close_item();  // (two statements: the closing events come first)
        s += open_item(ctx, "reasoning");
      }
      text_ += d.reasoning;
      s += event("response.reasoning_text.delta", {{"item_id", item_id_}, {"output_index", index_}, {"content_index", 0},
                                                   {"delta", d.reasoning}});
    }
    if (!d.content.empty()) {
      if (open_ != "message") {
        s += close_item();
        s += open_item(ctx, "message");
      }
      text_ += d.content;
      s += event("response.output_text.delta", {{"item_id", item_id_}, {"output_index", index_}, {"content_index", 0},
                                                {"delta", d.content}, {"logprobs", json::array()}});
    }
    if (d.tool_calls.is_array())
      for (const json& call : d.tool_calls) {
        s += close_item();
        const std::string id = "fc_" + call["id"].get<std::string>();
        json item = {{"type", "function_call"}, {"id", id}, {"call_id", call["id"]}, {"name", call["function"]["name"]},
                     {"arguments", ""}, {"status", "in_progress"}};
        s += event("response.output_item.added", {{"output_index", index_}, {"item", item}});
        const std::string args = call["function"]["arguments"].get<std::string>();
        s += event("response.function_call_arguments.delta", {{"item_id", id}, {"output_index", index_}, {"delta", args}});
        s += event("response.function_call_arguments.done", {{"item_id", id}, {"output_index", index_}, {"arguments", args}});
        item["arguments"] = args;
        item["status"] = "completed";
        s += event("response.output_item.done", {{"output_index", index_}, {"item", item}});
        ++index_;
      }
    return s;
  }

  std::string stream_finish(const ResponseContext& ctx, int32_t, const ChoiceOutput& c) override {
    std::string s = close_item();
    s += event(incomplete(c) ? "response.incomplete" : "response.completed", {{"response", full(ctx, c)}});
    return s;
  }

  std::string stream_end(const ResponseContext&, const std::vector<ChoiceOutput>&, bool, const ApiError* error) override {
    if (!error) return "";
    return event("error", {{"code", error->code.empty() ? json(nullptr) : json(error->code)}, {"message", error->what()},
                           {"param", error->param.empty() ? json(nullptr) : json(error->param)}});
  }

  json response(const ResponseContext& ctx, const std::vector<ChoiceOutput>& out, bool) override {
    return full(ctx, out.front());
  }

 private:
  json envelope(const ResponseContext& ctx, const char* status) const {
    return {{"id", ctx.id}, {"object", "response"}, {"created_at", ctx.created}, {"status", status}, {"model", ctx.model},
            {"output", json::array()}, {"error", nullptr}, {"incomplete_details", nullptr}, {"usage", nullptr},
            {"parallel_tool_calls", true}, {"tool_choice", "auto"}, {"tools", json::array()}};
  }

  json full(const ResponseContext& ctx, const ChoiceOutput& c) const {
    json r = envelope(ctx, incomplete(c) ? "incomplete" : "completed");
    if (incomplete(c)) r["incomplete_details"] = {{"reason", "max_output_tokens"}};
    const std::string base = ctx.id.substr(ctx.id.find('_') + 1);
    if (!c.reasoning.empty())
      r["output"].push_back({{"type", "reasoning"}, {"id", "rs_" + base}, {"summary", json::array()},
                             {"content", json::array({{{"type", "reasoning_text"}, {"text", c.reasoning}}})}});
    const std::string& text = c.calls.empty() ? c.content : c.answer;
    if (!text.empty() || c.calls.empty())
      r["output"].push_back({{"type", "message"}, {"id", "msg_" + base}, {"status", "completed"}, {"role", "assistant"},
                             {"content", json::array({{{"type", "output_text"}, {"text", text}, {"annotations", json::array()}}})}});
    for (size_t k = 0; k < c.calls.size(); ++k)
      r["output"].push_back({{"type", "function_call"}, {"id", "fc_" + c.call_ids[k]}, {"call_id", c.call_ids[k]},
                             {"name", c.calls[k].name}, {"arguments", c.calls[k].arguments}, {"status", "completed"}});
    r["usage"] = usage_of(c.summary);
    return r;
  }

  std::string event(const char* type, json data) {
    data["type"] = type;
    data["sequence_number"] = seq_++;
    return fmt::format("event: {}\ndata: {}\n\n", type, dump(data));
  }

  std::string open_item(const ResponseContext& ctx, const std::string& kind) {
    const std::string base = ctx.id.substr(ctx.id.find('_') + 1);
    open_ = kind;
    text_.clear();
    std::string s;
    if (kind == "reasoning") {
      item_id_ = "rs_" + base;
      s += event("response.output_item.added", {{"output_index", index_},
                                                {"item", {{"type", "reasoning"}, {"id", item_id_}, {"summary", json::array()}}}});
    } else {
      item_id_ = "msg_" + base;
      s += event("response.output_item.added",
                 {{"output_index", index_},
                  {"item", {{"type", "message"}, {"id", item_id_}, {"status", "in_progress"}, {"role", "assistant"},
                            {"content", json::array()}}}});
      s += event("response.content_part.added", {{"item_id", item_id_}, {"output_index", index_}, {"content_index", 0},
                                                 {"part", {{"type", "output_text"}, {"text", ""}, {"annotations", json::array()}}}});
    }
    return s;
  }

  std::string close_item() {
    if (open_.empty()) return "";
    std::string s;
    if (open_ == "reasoning") {
      s += event("response.reasoning_text.done", {{"item_id", item_id_}, {"output_index", index_}, {"content_index", 0}, {"text", text_}});
      s += event("response.output_item.done",
                 {{"output_index", index_},
                  {"item", {{"type", "reasoning"}, {"id", item_id_}, {"summary", json::array()},
                            {"content", json::array({{{"type", "reasoning_text"}, {"text", text_}}})}}}});
    } else {
      const json part = {{"type", "output_text"}, {"text", text_}, {"annotations", json::array()}};
      s += event("response.output_text.done", {{"item_id", item_id_}, {"output_index", index_}, {"content_index", 0}, {"text", text_}});
      s += event("response.content_part.done", {{"item_id", item_id_}, {"output_index", index_}, {"content_index", 0}, {"part", part}});
      s += event("response.output_item.done",
                 {{"output_index", index_},
                  {"item", {{"type", "message"}, {"id", item_id_}, {"status", "completed"}, {"role", "assistant"},
                            {"content", json::array({part})}}}});
    }
    open_.clear();
    ++index_;
    return s;
  }

  std::string open_;     // "reasoning" | "message" | "" (none)
  std::string item_id_;
  std::string text_;     // the open item's text so far
  int index_ = 0;        // output_index of the open (or next) item
  int64_t seq_ = 0;
};

}  // namespace

std::unique_ptr<Dialect> responses_dialect() { return std::make_unique<ResponsesDialect>(); }

}  // namespace r1::serve
