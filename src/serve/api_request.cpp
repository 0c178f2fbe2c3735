// Request-body validation for /v1/chat/completions and /v1/completions.
#include "serve/api_request.hpp"

#include <cmath>
#include <limits>

#include <fmt/format.h>

namespace r1::serve {

using nlohmann::json;

namespace {

// The field's value, or nullptr when it is absent or null (null means "default").
const json* field(const json& body, const char* name) {
  auto it = body.find(name);
  if (it == body.end() || it->is_null()) return nullptr;
  return &*it;
}

const char* type_name(const json& v) {
  if (v.is_string()) return "a string";
  if (v.is_boolean()) return "a boolean";
  if (v.is_number()) return "a number";
  if (v.is_array()) return "an array";
  if (v.is_object()) return "an object";
  return "null";
}

double number_field(const json& body, const char* name, double lo, double hi, double def) {
  const json* v = field(body, name);
  if (!v) return def;
  if (!v->is_number()) throw bad_param(name, fmt::format("'{}' must be a number, got {}", name, type_name(*v)));
  const double x = v->get<double>();
  if (!std::isfinite(x) || x < lo || x > hi)
    throw bad_param(name, fmt::format("'{}' must be between {} and {}, got {}", name, lo, hi, v->dump()));
  return x;
}

int64_t int_field(const json& body, const char* name, int64_t lo, int64_t hi, int64_t def) {
  const json* v = field(body, name);
  if (!v) return def;
  if (v->is_number_float()) {
    const double x = v->get<double>();
    if (std::isfinite(x) && x == std::floor(x) && std::fabs(x) < 9e15) {
      const auto i = static_cast<int64_t>(x);
      if (i < lo || i > hi) throw bad_param(name, fmt::format("'{}' must be between {} and {}, got {}", name, lo, hi, i));
      return i;
    }
  }
  if (!v->is_number_integer())
    throw bad_param(name, fmt::format("'{}' must be an integer, got {}", name, v->is_number() ? v->dump() : type_name(*v)));
  if (v->is_number_unsigned() && v->get<uint64_t>() > static_cast<uint64_t>(std::numeric_limits<int64_t>::max()))
    throw bad_param(name, fmt::format("'{}' must be between {} and {}, got {}", name, lo, hi, v->dump()));
  const int64_t i = v->get<int64_t>();
  if (i < lo || i > hi) throw bad_param(name, fmt::format("'{}' must be between {} and {}, got {}", name, lo, hi, i));
  return i;
}

bool bool_field(const json& body, const char* name, bool def) {
  const json* v = field(body, name);
  if (!v) return def;
  if (!v->is_boolean()) throw bad_param(name, fmt::format("'{}' must be a boolean, got {}", name, type_name(*v)));
  return v->get<bool>();
}

std::string string_field(const json& body, const char* name, const std::string& def) {
  const json* v = field(body, name);
  if (!v) return def;
  if (!v->is_string()) throw bad_param(name, fmt::format("'{}' must be a string, got {}", name, type_name(*v)));
  return v->get<std::string>();
}

std::vector<std::string> stop_field(const json& body, const RequestLimits& lim) {
  const json* v = field(body, "stop");
  std::vector<std::string> out;
  if (!v) return out;
  if (v->is_string()) {
    out.push_back(v->get<std::string>());
  } else if (v->is_array()) {
    if (static_cast<int64_t>(v->size()) > lim.max_stop)
      throw bad_param("stop", fmt::format("'stop' may hold at most {} strings, got {}", lim.max_stop, v->size()));
    for (const auto& s : *v) {
      if (!s.is_string()) throw bad_param("stop", "'stop' must be a string or an array of strings");
      out.push_back(s.get<std::string>());
    }
  } else {
    throw bad_param("stop", fmt::format("'stop' must be a string or an array of strings, got {}", type_name(*v)));
  }
  for (const auto& s : out)
    if (s.size() > 1024) throw bad_param("stop", "a stop string is longer than 1024 bytes");
  return out;
}

// Settings both endpoints share, written into `g`; the prompt is set by the caller.
void parse_common(const json& body, const RequestLimits& lim, ApiRequest& r, GenerateRequest& g, int32_t default_max) {
  if (!body.is_object()) throw ApiError(400, "the request body must be a JSON object");
  r.model = string_field(body, "model", "");
  SamplingParams& s = g.sampling;
  s.temperature = static_cast<float>(number_field(body, "temperature", 0, 2, s.temperature));
  const double top_p = number_field(body, "top_p", 0, 1, s.top_p);
  if (top_p == 0) s.temperature = 0;  // the limit of nucleus sampling: the most likely token
  s.top_p = top_p == 0 ? 1.0f : static_cast<float>(top_p);
  s.top_k = static_cast<int32_t>(int_field(body, "top_k", 0, std::numeric_limits<int32_t>::max(), s.top_k));
  s.min_p = static_cast<float>(number_field(body, "min_p", 0, 1, s.min_p));
  s.presence_penalty = static_cast<float>(number_field(body, "presence_penalty", -2, 2, 0));
  s.frequency_penalty = static_cast<float>(number_field(body, "frequency_penalty", -2, 2, 0));
  s.repeat_penalty = static_cast<float>(number_field(body, "repeat_penalty", 0.01, 10, s.repeat_penalty));
  if (const json* seed = field(body, "seed")) {
    if (seed->is_number_unsigned()) s.seed = seed->get<uint64_t>();
    else s.seed = static_cast<uint64_t>(int_field(body, "seed", std::numeric_limits<int64_t>::min(),
                                                  std::numeric_limits<int64_t>::max(), 0));
  }
  g.stop = stop_field(body, lim);
  r.n = static_cast<int32_t>(int_field(body, "n", 1, lim.max_n, 1));
  if (const json* best_of = field(body, "best_of"); best_of && *best_of != r.n)
    throw bad_param("best_of", "'best_of' other than n is not supported");
  r.stream = bool_field(body, "stream", false);
  if (const json* so = field(body, "stream_options")) {
    if (!so->is_object()) throw bad_param("stream_options", "'stream_options' must be an object");
    r.include_usage = bool_field(*so, "include_usage", false);
  }
  const char* max_name = field(body, "max_completion_tokens") ? "max_completion_tokens" : "max_tokens";
  g.max_tokens = static_cast<int32_t>(int_field(body, max_name, 1, lim.max_tokens, default_max));
  g.ignore_eos = bool_field(body, "ignore_eos", false);

  // Reasoning budget.
  int32_t budget = -1;
  if (const json* effort = field(body, "reasoning_effort")) {
    if (!effort->is_string()) throw bad_param("reasoning_effort", "'reasoning_effort' must be a string");
    budget = effort_budget(effort->get<std::string>());
  }
  if (const json* th = field(body, "thinking")) {
    if (!th->is_object()) throw bad_param("thinking", "'thinking' must be an object");
    const std::string type = string_field(*th, "type", "enabled");
    if (type == "disabled") g.no_think = true;
    else if (type != "enabled") throw bad_param("thinking", "'thinking.type' must be \"enabled\" or \"disabled\"");
    if (field(*th, "budget_tokens")) budget = static_cast<int32_t>(int_field(*th, "budget_tokens", 0, lim.max_tokens, -1));
  }
  if (field(body, "thinking_budget"))
    budget = static_cast<int32_t>(int_field(body, "thinking_budget", -1, std::numeric_limits<int32_t>::max(), -1));
  g.think_budget = g.no_think ? -1 : budget;

  if (const json* rf = field(body, "response_format")) {
    if (!rf->is_object() || string_field(*rf, "type", "text") != "text")
      throw bad_param("response_format", "only response_format {\"type\": \"text\"} is supported");
  }
}

// One request per choice: prompt-major, seeds offset by the choice number.
void expand_choices(ApiRequest& r, const std::vector<GenerateRequest>& prompts) {
  for (const auto& p : prompts)
    for (int32_t i = 0; i < r.n; ++i) {
      GenerateRequest g = p;
      if (g.sampling.seed != 0xFFFFFFFFu) g.sampling.seed += static_cast<uint64_t>(i);
      r.choices.push_back(std::move(g));
    }
}

}  // namespace

int32_t effort_budget(const std::string& effort) {
  if (effort == "low") return 1024;
  if (effort == "medium") return 4096;
  if (effort == "high") return -1;
  throw bad_param("reasoning_effort", fmt::format("'reasoning_effort' must be low, medium or high, got \"{}\"", effort));
}

json normalize_messages(const json& messages) {
  if (!messages.is_array() || messages.empty())
    throw bad_param("messages", "'messages' must be a non-empty array");
  json out = json::array();
  for (size_t i = 0; i < messages.size(); ++i) {
    const json& m = messages[i];
    const std::string where = fmt::format("messages[{}]", i);
    if (!m.is_object()) throw bad_param(where, where + " must be an object");
    auto role_it = m.find("role");
    if (role_it == m.end() || !role_it->is_string()) throw bad_param(where + ".role", where + " has no string 'role'");
    std::string role = role_it->get<std::string>();
    if (role == "developer") role = "system";
    if (role != "system" && role != "user" && role != "assistant" && role != "tool")
      throw bad_param(where + ".role", fmt::format("{} has an unknown role \"{}\"", where, role));
    json n = {{"role", role}};
    auto c = m.find("content");
    if (c == m.end() || c->is_null()) {
      if (role != "assistant") throw bad_param(where + ".content", where + " has no 'content'");
      n["content"] = nullptr;
    } else if (c->is_string()) {
      n["content"] = *c;
    } else if (c->is_array()) {
      std::string text;
      for (const json& part : *c) {
        if (!part.is_object() || part.value("type", "") != "text" || !part.contains("text") || !part["text"].is_string())
          throw bad_param(where + ".content", where + ": only text content parts are supported");
        if (!text.empty()) text += "\n";
        text += part["text"].get<std::string>();
      }
      n["content"] = text;
    } else {
      throw bad_param(where + ".content", where + ".content must be a string or an array of text parts");
    }
    if (role == "assistant" && m.contains("tool_calls") && !m["tool_calls"].is_null()) {
      const json& tc = m["tool_calls"];
      if (!tc.is_array()) throw bad_param(where + ".tool_calls", where + ".tool_calls must be an array");
      json calls = json::array();
      for (const json& t : tc) {
        if (!t.is_object() || !t.contains("function") || !t["function"].is_object())
          throw bad_param(where + ".tool_calls", where + ": a tool call needs a 'function' object");
        const json& f = t["function"];
        std::string name = f.contains("name") && f["name"].is_string() ? f["name"].get<std::string>() : "";
        std::string args = !f.contains("arguments") ? "{}"
                           : f["arguments"].is_string() ? f["arguments"].get<std::string>()
                                                        : f["arguments"].dump();
        calls.push_back({{"type", "function"}, {"function", {{"name", name}, {"arguments", args}}}});
      }
      if (!calls.empty()) n["tool_calls"] = calls;
    }
    out.push_back(std::move(n));
  }
  return out;
}

ApiRequest parse_chat_request(const json& body, const RequestLimits& lim) {
  ApiRequest r;
  GenerateRequest g;
  parse_common(body, lim, r, g, lim.max_tokens);
  if (!body.contains("messages")) throw bad_param("messages", "'messages' is required");
  g.messages = normalize_messages(body["messages"]);
  r.logprobs = bool_field(body, "logprobs", false);
  if (field(body, "top_logprobs")) {
    r.top_logprobs = static_cast<int32_t>(int_field(body, "top_logprobs", 0, lim.max_top_logprobs, 0));
    if (!r.logprobs) throw bad_param("top_logprobs", "'top_logprobs' needs 'logprobs': true");
  }
  g.top_logprobs = r.logprobs ? r.top_logprobs : -1;
  const std::string fmt_name = string_field(body, "reasoning_format", "deepseek");
  if (fmt_name == "deepseek" || fmt_name == "auto") r.reasoning_format = ReasoningFormat::deepseek;
  else if (fmt_name == "none") r.reasoning_format = ReasoningFormat::none;
  else if (fmt_name == "raw") r.reasoning_format = ReasoningFormat::raw;
  else throw bad_param("reasoning_format", fmt::format("'reasoning_format' must be deepseek, none or raw, got \"{}\"", fmt_name));
  g.keep_tags = r.reasoning_format != ReasoningFormat::deepseek;
  expand_choices(r, {g});
  return r;
}

ApiRequest parse_completion_request(const json& body, const RequestLimits& lim) {
  ApiRequest r;
  GenerateRequest g;
  parse_common(body, lim, r, g, std::min<int32_t>(16, lim.max_tokens));
  if (bool_field(body, "echo", false)) throw bad_param("echo", "'echo' is not supported");
  if (!string_field(body, "suffix", "").empty()) throw bad_param("suffix", "'suffix' is not supported");
  if (field(body, "logprobs")) {
    r.logprobs = true;
    r.top_logprobs = static_cast<int32_t>(int_field(body, "logprobs", 0, 5, 0));
  }
  g.top_logprobs = r.logprobs ? r.top_logprobs : -1;
  g.keep_tags = true;  // plain text completion: the generated text verbatim
  r.reasoning_format = ReasoningFormat::none;

  const json* p = field(body, "prompt");
  if (!p) throw bad_param("prompt", "'prompt' is required");
  std::vector<GenerateRequest> prompts;
  auto add_text = [&](const json& s) {
    GenerateRequest q = g;
    q.prompt_text = s.get<std::string>();
    if (q.prompt_text.empty()) throw bad_param("prompt", "'prompt' is empty");
    prompts.push_back(std::move(q));
  };
  auto add_ids = [&](const json& a) {
    GenerateRequest q = g;
    for (const json& id : a) {
      if (!id.is_number_integer()) throw bad_param("prompt", "a token-id prompt must hold integers only");
      const int64_t v = id.get<int64_t>();
      if (v < 0 || v > std::numeric_limits<int32_t>::max()) throw bad_param("prompt", fmt::format("token id {} is out of range", v));
      q.prompt_tokens.push_back(static_cast<int32_t>(v));
    }
    if (q.prompt_tokens.empty()) throw bad_param("prompt", "'prompt' is empty");
    prompts.push_back(std::move(q));
  };
  if (p->is_string()) {
    add_text(*p);
  } else if (p->is_array() && !p->empty() && (*p)[0].is_number()) {
    add_ids(*p);
  } else if (p->is_array() && !p->empty()) {
    if (static_cast<int64_t>(p->size()) > lim.max_prompts)
      throw bad_param("prompt", fmt::format("at most {} prompts per request, got {}", lim.max_prompts, p->size()));
    for (const json& e : *p) {
      if (e.is_string()) add_text(e);
      else if (e.is_array()) add_ids(e);
      else throw bad_param("prompt", "'prompt' must be a string, an array of strings or of token ids");
    }
  } else {
    throw bad_param("prompt", "'prompt' must be a non-empty string, an array of strings or of token ids");
  }
  if (static_cast<int64_t>(prompts.size()) * r.n > static_cast<int64_t>(lim.max_n) * lim.max_prompts)
    throw bad_param("n", "too many choices in one request");
  expand_choices(r, prompts);
  return r;
}

int json_nesting_depth(std::string_view text) {
  int depth = 0, max_depth = 0;
  bool in_string = false, escape = false;
  for (char c : text) {
    if (in_string) {
      if (escape) escape = false;
      else if (c == '\\') escape = true;
      else if (c == '"') in_string = false;
      continue;
    }
    if (c == '"') in_string = true;
    else if (c == '[' || c == '{') max_depth = std::max(max_depth, ++depth);
    else if (c == ']' || c == '}') --depth;
  }
  return max_depth;
}

}  // namespace r1::serve
