#include "engine/chat_format.hpp"

#include "base/error.hpp"
#include "engine/tool_calls.hpp"
#include "tokenizer/chat_template.hpp"
#include "tokenizer/tokenizer.hpp"

namespace r1 {

namespace {

constexpr std::string_view kUser = "<｜User｜>";
constexpr std::string_view kAssistant = "<｜Assistant｜>";
constexpr std::string_view kEndOfSentence = "<｜end▁of▁sentence｜>";

std::string content_of(const nlohmann::json& m) {
  const auto& c = m["content"];
  return c.is_null() ? std::string() : c.get<std::string>();
}

std::string special_text(const Tokenizer& tok, int32_t id) {
  return id >= 0 && id < tok.n_vocab() ? tok.token_bytes(id) : std::string();
}

}  // namespace

void validate_messages(const nlohmann::json& messages) {
  if (!messages.is_array()) fail("chat messages must be a JSON array");
  for (size_t i = 0; i < messages.size(); ++i) {
    const auto& m = messages[i];
    if (!m.is_object()) fail("chat message {} is not an object", i);
    auto role = m.find("role");
    if (role == m.end() || !role->is_string()) fail("chat message {} has no string \"role\"", i);
    auto content = m.find("content");
    bool ok = content != m.end() && (content->is_string() || (content->is_null() && *role == "assistant"));
    if (!ok) fail("chat message {} has no string \"content\"", i);
  }
}

std::string format_chat_builtin_r1(const nlohmann::json& messages, std::string_view bos_text,
                                   bool add_generation_prompt) {
  validate_messages(messages);
  std::string system;
  for (const auto& m : messages) {
    if (m["role"] != "system") continue;
    if (!system.empty()) system += "\n\n";
    system += content_of(m);
  }
  std::string out(bos_text);
  out += system;
  bool in_tool_outputs = false;  // inside a run of tool results
  for (size_t i = 0; i < messages.size(); ++i) {
    const auto& m = messages[i];
    const std::string role = m["role"].get<std::string>();
    if (role == "system") continue;
    std::string content = content_of(m);
    if (role == "user") {
      if (in_tool_outputs) out += "<｜tool▁outputs▁end｜>";
      in_tool_outputs = false;
      out += kUser;
      out += content;
    } else if (role == "assistant" && m.contains("tool_calls") && m["tool_calls"].is_array() &&
               !m["tool_calls"].empty()) {
      out += kAssistant;
      out += "<｜tool▁calls▁begin｜>";
      bool first = true;
      for (const auto& call : m["tool_calls"]) {
        if (!first) out += "\n";
        first = false;
        const auto& fn = call["function"];
        out += "<｜tool▁call▁begin｜>function<｜tool▁sep｜>" + fn["name"].get<std::string>() + "\n```json\n" +
               fn["arguments"].get<std::string>() + "\n```<｜tool▁call▁end｜>";
      }
      out += "<｜tool▁calls▁end｜>";
      out += kEndOfSentence;
    } else if (role == "assistant") {
      size_t close = content.rfind("</think>");
      if (close != std::string::npos) content.erase(0, close + std::string_view("</think>").size());
      if (in_tool_outputs) out += "<｜tool▁outputs▁end｜>";
      else out += kAssistant;
      in_tool_outputs = false;
      out += content;
      out += kEndOfSentence;
    } else if (role == "tool") {
      out += in_tool_outputs ? "\n<｜tool▁output▁begin｜>" : "<｜tool▁outputs▁begin｜><｜tool▁output▁begin｜>";
      out += content + "<｜tool▁output▁end｜>";
      in_tool_outputs = true;
      continue;
    } else {
      fail("chat message {}: the built-in R1 chat format has no role \"{}\"", i, role);
    }
  }
  if (in_tool_outputs) {
    out += "<｜tool▁outputs▁end｜>";  // as the R1 template: the model's turn goes on, no new prompt
    return out;
  }
  if (add_generation_prompt) {
    out += kAssistant;
    out += "<think>\n";
  }
  return out;
}

nlohmann::json template_messages(std::string_view tmpl, const nlohmann::json& messages) {
  // "arguments | tojson", "arguments'] | tojson", "arguments\"]|tojson", ...
  bool objects = false;
  for (size_t p = tmpl.find("arguments"); p != std::string_view::npos && !objects; p = tmpl.find("arguments", p + 1)) {
    size_t q = p + 9;
    while (q < tmpl.size() && (tmpl[q] == '\'' || tmpl[q] == '"' || tmpl[q] == ']' || tmpl[q] == ' ')) ++q;
    if (q >= tmpl.size() || tmpl[q] != '|') continue;
    ++q;
    while (q < tmpl.size() && tmpl[q] == ' ') ++q;
    objects = tmpl.substr(q, 6) == "tojson";
  }
  if (!objects) return messages;
  nlohmann::json out = messages;
  for (auto& m : out) {
    if (!m.is_object() || !m.contains("tool_calls") || !m["tool_calls"].is_array()) continue;
    for (auto& call : m["tool_calls"]) {
      if (!call.is_object() || !call.contains("function") || !call["function"].is_object()) continue;
      auto& fn = call["function"];
      if (!fn.contains("arguments") || !fn["arguments"].is_string()) continue;
      nlohmann::json a = nlohmann::json::parse(fn["arguments"].get<std::string>(), nullptr, false);
      if (!a.is_discarded() && a.is_object()) fn["arguments"] = std::move(a);
    }
  }
  return out;
}

std::string format_chat(const Tokenizer& tok, const nlohmann::json& messages, bool add_generation_prompt,
                        const nlohmann::ordered_json& tools) {
  validate_messages(messages);
  const std::string& tmpl = tok.vocab().chat_template;
  const std::string bos = special_text(tok, tok.bos());
  const bool has_tools = tools.is_array() && !tools.empty();
  nlohmann::json msgs = messages;
  if (has_tools && (tmpl.empty() || !template_renders_tools(tmpl))) {
    const std::string section = tools_system_prompt(detect_tool_format(tmpl), tools);
    if (!msgs.empty() && msgs[0]["role"] == "system") {
      msgs[0]["content"] = content_of(msgs[0]) + "\n\n" + section;
    } else {
      msgs.insert(msgs.begin(), nlohmann::json{{"role", "system"}, {"content", section}});
    }
  }
  if (tmpl.empty()) return format_chat_builtin_r1(msgs, bos, add_generation_prompt);
  nlohmann::ordered_json vars = {{"bos_token", bos}, {"eos_token", special_text(tok, tok.eos())}};
  if (has_tools && template_renders_tools(tmpl)) vars["tools"] = tools;
  msgs = template_messages(tmpl, msgs);
  try {
    return render_chat(tmpl, nlohmann::ordered_json::parse(msgs.dump()), add_generation_prompt, vars);
  } catch (const Error&) {
    // Some templates (Qwen3's) test the content of an assistant turn that has only tool
    // calls, which clients send as null: give them "" instead and render again.
    bool any_null = false;
    for (auto& m : msgs)
      if (m.contains("content") && m["content"].is_null()) m["content"] = "", any_null = true;
    if (!any_null) throw;
    return render_chat(tmpl, nlohmann::ordered_json::parse(msgs.dump()), add_generation_prompt, vars);
  }
}

std::vector<int32_t> tokenize_prompt(const Tokenizer& tok, std::string_view text) {
  const std::string bos = special_text(tok, tok.bos());
  const bool has_bos_text = !bos.empty() && text.substr(0, bos.size()) == bos;
  return tok.encode(text, /*add_bos=*/!has_bos_text, /*parse_special=*/true);
}

bool ends_in_reasoning(std::string_view text) {
  size_t open = text.rfind("<think>");
  if (open == std::string_view::npos) return false;
  size_t close = text.rfind("</think>");
  return close == std::string_view::npos || close < open;
}

}  // namespace r1
