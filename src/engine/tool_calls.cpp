#include "engine/tool_calls.hpp"

#include <algorithm>
#include <cctype>

#include <fmt/format.h>

#include "grammar/gbnf.hpp"
#include "grammar/json_schema.hpp"

namespace r1 {

namespace {

using ojson = nlohmann::ordered_json;

constexpr std::string_view kCallsBegin = "<｜tool▁calls▁begin｜>";
constexpr std::string_view kCallsEnd = "<｜tool▁calls▁end｜>";
constexpr std::string_view kCallBegin = "<｜tool▁call▁begin｜>";
constexpr std::string_view kCallEnd = "<｜tool▁call▁end｜>";
constexpr std::string_view kSep = "<｜tool▁sep｜>";
constexpr std::string_view kQwenOpen = "<tool_call>";
constexpr std::string_view kQwenClose = "</tool_call>";
constexpr std::string_view kPythonTag = "<|python_tag|>";

bool is_space(char c) { return c == ' ' || c == '\t' || c == '\n' || c == '\r'; }

std::string_view trim(std::string_view s) {
  while (!s.empty() && is_space(s.front())) s.remove_prefix(1);
  while (!s.empty() && is_space(s.back())) s.remove_suffix(1);
  return s;
}

void skip_space(std::string_view s, size_t& p) {
  while (p < s.size() && is_space(s[p])) ++p;
}

bool eat(std::string_view s, size_t& p, std::string_view what) {
  if (s.substr(p, what.size()) != what) return false;
  p += what.size();
  return true;
}

// The end (one past the closing brace) of the JSON object starting at s[p], found by
// bracket matching outside strings; npos when it does not close.
size_t object_end(std::string_view s, size_t p) {
  if (p >= s.size() || s[p] != '{') return std::string_view::npos;
  int depth = 0;
  bool in_string = false;
  for (size_t i = p; i < s.size(); ++i) {
    const char c = s[i];
    if (in_string) {
      if (c == '\\') ++i;
      else if (c == '"') in_string = false;
    } else if (c == '"') {
      in_string = true;
    } else if (c == '{' || c == '[') {
      ++depth;
    } else if (c == '}' || c == ']') {
      if (--depth == 0) return i + 1;
    }
  }
  return std::string_view::npos;
}

// A JSON object text -> compact text; nullopt unless it is exactly one object.
std::optional<ojson> parse_object(std::string_view text) {
  ojson j = ojson::parse(text.begin(), text.end(), nullptr, false);
  if (j.is_discarded() || !j.is_object()) return std::nullopt;
  return j;
}

std::optional<ToolCall> call_from(const std::string& name, std::string_view args) {
  if (name.empty()) return std::nullopt;
  auto a = parse_object(trim(args));
  if (!a) return std::nullopt;
  return ToolCall{name, a->dump()};
}

// {"name": ..., "arguments" | "parameters": object or a string holding one}.
std::optional<ToolCall> call_from_object(std::string_view text) {
  auto o = parse_object(text);
  if (!o || !o->contains("name") || !(*o)["name"].is_string() || (*o)["name"].get<std::string>().empty())
    return std::nullopt;  // a call needs a function name
  const char* key = o->contains("arguments") ? "arguments" : o->contains("parameters") ? "parameters" : nullptr;
  if (key == nullptr) return ToolCall{(*o)["name"].get<std::string>(), "{}"};
  const ojson& a = (*o)[key];
  if (a.is_object()) return ToolCall{(*o)["name"].get<std::string>(), a.dump()};
  if (a.is_string()) return call_from((*o)["name"].get<std::string>(), a.get<std::string>());
  return std::nullopt;
}

// Calls in the two DeepSeek forms, from `p` (just after the calls-begin marker, or at a
// call-begin marker). Sets p past the block. nullopt: malformed.
std::optional<std::vector<ToolCall>> parse_deepseek(std::string_view s, size_t& p, bool v31) {
  std::vector<ToolCall> calls;
  for (;;) {
    skip_space(s, p);
    if (eat(s, p, kCallsEnd)) break;
    if (p >= s.size() && !calls.empty()) break;  // the end marker left out: accepted
    if (!eat(s, p, kCallBegin)) return std::nullopt;
    const size_t end = s.find(kCallEnd, p);
    if (end == std::string_view::npos) return std::nullopt;
    std::string_view body = s.substr(p, end - p);
    p = end + kCallEnd.size();
    const size_t sep = body.find(kSep);
    if (sep == std::string_view::npos) return std::nullopt;
    std::optional<ToolCall> call;
    if (v31) {
      call = call_from(std::string(trim(body.substr(0, sep))), body.substr(sep + kSep.size()));
    } else {
      // TYPE<sep>NAME\n```json\nARGS\n```
      std::string_view rest = body.substr(sep + kSep.size());
      const size_t nl = rest.find('\n');
      if (nl == std::string_view::npos) return std::nullopt;
      std::string name(trim(rest.substr(0, nl)));
      std::string_view args = trim(rest.substr(nl + 1));
      if (args.substr(0, 3) != "```") return std::nullopt;
      args.remove_prefix(3);
      if (args.substr(0, 4) == "json") args.remove_prefix(4);
      args = trim(args);
      if (args.size() < 3 || args.substr(args.size() - 3) != "```") return std::nullopt;
      args.remove_suffix(3);
      call = call_from(name, args);
    }
    if (!call) return std::nullopt;
    calls.push_back(std::move(*call));
  }
  if (calls.empty()) return std::nullopt;
  return calls;
}

ParsedAnswer with_calls(std::string_view before, std::string_view after, std::vector<ToolCall> calls) {
  std::string content(trim(before));
  std::string_view rest = trim(after);
  if (!rest.empty()) {
    if (!content.empty()) content += "\n";
    content += rest;
  }
  return ParsedAnswer{std::move(content), std::move(calls), std::string(before), std::string(after)};
}

// The longest suffix of s that is a proper prefix of marker, as an offset (npos: none).
size_t partial_marker(std::string_view s, std::string_view marker) {
  for (size_t k = std::min(s.size(), marker.size() - 1); k > 0; --k)
    if (s.substr(s.size() - k) == marker.substr(0, k)) return s.size() - k;
  return std::string_view::npos;
}

std::string args_rule(grammar::GbnfRules& rules, const ojson& fn, const std::string& name) {
  ojson params = fn.contains("parameters") && fn["parameters"].is_object() ? fn["parameters"] : ojson{{"type", "object"}};
  grammar::add_json_schema_rules(rules, params, name);
  return name;
}

}  // namespace

const char* tool_format_name(ToolFormat f) {
  switch (f) {
    case ToolFormat::deepseek_r1: return "deepseek_r1";
    case ToolFormat::deepseek_v31: return "deepseek_v31";
    case ToolFormat::qwen: return "qwen";
    case ToolFormat::llama3: return "llama3";
  }
  return "deepseek_r1";
}

ToolFormat detect_tool_format(std::string_view t) {
  if (t.empty()) return ToolFormat::deepseek_r1;
  if (t.find("tool▁call▁begin") != std::string_view::npos)
    return t.find("```json") != std::string_view::npos ? ToolFormat::deepseek_r1 : ToolFormat::deepseek_v31;
  if (t.find("<tool_call>") != std::string_view::npos) return ToolFormat::qwen;
  if (t.find("<|start_header_id|>") != std::string_view::npos || t.find("<|python_tag|>") != std::string_view::npos)
    return ToolFormat::llama3;
  if (t.find("<｜Assistant｜>") != std::string_view::npos) return ToolFormat::deepseek_r1;
  return ToolFormat::qwen;
}

bool template_renders_tools(std::string_view t) {
  for (size_t p = t.find("tools"); p != std::string_view::npos; p = t.find("tools", p + 1)) {
    const bool left = p == 0 || !(std::isalnum(static_cast<unsigned char>(t[p - 1])) || t[p - 1] == '_');
    const size_t e = p + 5;
    const bool right = e >= t.size() || !(std::isalnum(static_cast<unsigned char>(t[e])) || t[e] == '_');
    if (left && right) return true;
  }
  return false;
}

ParsedAnswer parse_tool_calls(ToolFormat f, std::string_view s) {
  ParsedAnswer plain{std::string(s), {}};
  switch (f) {
    case ToolFormat::deepseek_r1:
    case ToolFormat::deepseek_v31: {
      size_t start = s.find(kCallsBegin);
      size_t p;
      if (start != std::string_view::npos) {
        p = start + kCallsBegin.size();
      } else {
        start = s.find(kCallBegin);
        if (start == std::string_view::npos) return plain;
        p = start;
      }
      auto calls = parse_deepseek(s, p, f == ToolFormat::deepseek_v31);
      if (!calls) return plain;
      return with_calls(s.substr(0, start), s.substr(p), std::move(*calls));
    }
    case ToolFormat::qwen: {
      const size_t start = s.find(kQwenOpen);
      if (start == std::string_view::npos) return plain;
      size_t p = start;
      std::vector<ToolCall> calls;
      for (;;) {
        skip_space(s, p);
        if (!eat(s, p, kQwenOpen)) break;
        skip_space(s, p);
        const size_t end = object_end(s, p);
        if (end == std::string_view::npos) return plain;
        auto call = call_from_object(s.substr(p, end - p));
        if (!call) return plain;
        p = end;
        skip_space(s, p);
        if (!eat(s, p, kQwenClose)) return plain;
        calls.push_back(std::move(*call));
      }
      return with_calls(s.substr(0, start), s.substr(p), std::move(calls));
    }
    case ToolFormat::llama3: {
      size_t p = 0;
      skip_space(s, p);
      eat(s, p, kPythonTag);
      std::vector<ToolCall> calls;
      for (;;) {
        skip_space(s, p);
        const size_t end = object_end(s, p);
        if (end == std::string_view::npos) return plain;
        auto call = call_from_object(s.substr(p, end - p));
        if (!call) return plain;
        calls.push_back(std::move(*call));
        p = end;
        skip_space(s, p);
        if (p < s.size() && s[p] == ';') {
          ++p;
          continue;
        }
        break;
      }
      return with_calls("", s.substr(p), std::move(calls));
    }
  }
  return plain;
}

size_t tool_call_start(ToolFormat f, std::string_view s) {
  constexpr size_t npos = std::string_view::npos;
  switch (f) {
    case ToolFormat::deepseek_r1:
    case ToolFormat::deepseek_v31: {
      size_t a = std::min(s.find(kCallsBegin), s.find(kCallBegin));
      if (a != npos) return a;
      return std::min(partial_marker(s, kCallsBegin), partial_marker(s, kCallBegin));
    }
    case ToolFormat::qwen: {
      size_t a = s.find(kQwenOpen);
      return a != npos ? a : partial_marker(s, kQwenOpen);
    }
    case ToolFormat::llama3: {
      size_t p = 0;
      skip_space(s, p);
      if (p == s.size()) return s.empty() ? npos : 0;  // only whitespace so far: undecided
      std::string_view rest = s.substr(p);
      if (rest[0] == '{' || kPythonTag.substr(0, std::min(rest.size(), kPythonTag.size())) == rest.substr(0, std::min(rest.size(), kPythonTag.size())))
        return 0;
      return npos;
    }
  }
  return npos;
}

std::string forced_tool_call_gbnf(ToolFormat f, const ojson& tools, const std::string& only, bool parallel) {
  grammar::GbnfRules rules;
  std::string alternatives;
  int index = 0;
  for (const ojson& t : tools) {
    const ojson& fn = t["function"];
    const std::string name = fn["name"].get<std::string>();
    if (!only.empty() && name != only) continue;
    const std::string args = args_rule(rules, fn, fmt::format("fn-{}-args", index));
    const std::string lit = grammar::gbnf_literal(name);
    std::string body;
    switch (f) {
      case ToolFormat::deepseek_r1: body = lit + " \"\\n```json\\n\" " + args; break;
      case ToolFormat::deepseek_v31: body = lit + " " + grammar::gbnf_literal(kSep) + " " + args; break;
      case ToolFormat::qwen: body = lit + " \"\\\", \\\"arguments\\\": \" " + args; break;
      case ToolFormat::llama3: body = lit + " \"\\\", \\\"parameters\\\": \" " + args; break;
    }
    const std::string fn_rule = fmt::format("fn-{}", index++);
    rules.add(fn_rule, body);
    alternatives += (alternatives.empty() ? "" : " | ") + fn_rule;
  }
  rules.add("call-fn", alternatives);
  // More calls after the first, each after its separator, when parallel calls are allowed.
  auto more = [&](const std::string& sep) { return parallel ? " (" + sep + " call)*" : std::string(); };
  switch (f) {
    case ToolFormat::deepseek_r1:
      rules.add("call", grammar::gbnf_literal(std::string(kCallBegin) + "function" + std::string(kSep)) +
                            " call-fn \"\\n```\" " + grammar::gbnf_literal(kCallEnd));
      rules.add("root", grammar::gbnf_literal(kCallsBegin) + " call" + more("\"\\n\"") + " " + grammar::gbnf_literal(kCallsEnd));
      break;
    case ToolFormat::deepseek_v31:
      rules.add("call", grammar::gbnf_literal(kCallBegin) + " call-fn " + grammar::gbnf_literal(kCallEnd));
      rules.add("root", grammar::gbnf_literal(kCallsBegin) + " call" + more("\"\"") + " " + grammar::gbnf_literal(kCallsEnd));
      break;
    case ToolFormat::qwen:
      rules.add("call", "\"<tool_call>\\n{\\\"name\\\": \\\"\" call-fn \"}\\n</tool_call>\"");
      rules.add("root", "call" + more("\"\\n\""));
      break;
    case ToolFormat::llama3:
      rules.add("call", "\"{\\\"name\\\": \\\"\" call-fn \"}\"");
      rules.add("root", "call" + more("\"; \""));
      break;
  }
  return rules.text();
}

std::string tools_system_prompt(ToolFormat f, const ojson& tools) {
  std::string out = "## Tools\n\nYou can call the following functions. Each is given by its name, what it does and "
                    "a JSON Schema of its arguments.\n";
  for (const ojson& t : tools) {
    const ojson& fn = t["function"];
    out += "\n### " + fn["name"].get<std::string>() + "\n";
    if (fn.contains("description") && fn["description"].is_string()) out += fn["description"].get<std::string>() + "\n";
    out += "Arguments: " + (fn.contains("parameters") ? fn["parameters"].dump() : std::string("{}")) + "\n";
  }
  out += "\nTo call functions, answer with this block and nothing else (ARGUMENTS is a JSON object):\n";
  switch (f) {
    case ToolFormat::deepseek_r1:
      out += std::string(kCallsBegin) + std::string(kCallBegin) + "function" + std::string(kSep) +
             "NAME\n```json\nARGUMENTS\n```" + std::string(kCallEnd) + std::string(kCallsEnd) + "\n";
      break;
    case ToolFormat::deepseek_v31:
      out += std::string(kCallsBegin) + std::string(kCallBegin) + "NAME" + std::string(kSep) + "ARGUMENTS" +
             std::string(kCallEnd) + std::string(kCallsEnd) + "\n";
      break;
    case ToolFormat::qwen: out += "<tool_call>\n{\"name\": \"NAME\", \"arguments\": ARGUMENTS}\n</tool_call>\n"; break;
    case ToolFormat::llama3: out += "{\"name\": \"NAME\", \"parameters\": ARGUMENTS}\n"; break;
  }
  out += "Several calls may follow one another. The results come back in the next message.";
  return out;
}

}  // namespace r1
