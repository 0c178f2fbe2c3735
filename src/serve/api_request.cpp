// Request-body validation for /v1/chat/completions and /v1/completions.
#include "serve/api_request.hpp"

#include <algorithm>
#include <cmath>
#include <limits>

#include <fmt/format.h>

#include "base/error.hpp"
#include "grammar/gbnf.hpp"
#include "grammar/json_schema.hpp"

namespace r1::serve {

using nlohmann::json;

namespace {

// Every helper below takes the object holding the field and the field's name as the
// client wrote it ("include_usage"), and names it in errors by `param`, its full path
// ("stream_options.include_usage"); param defaults to the name.

// The field's value, or nullptr when it is absent or null (null means "default").
const json* field(const json& obj, const char* name) {
  if (!obj.is_object()) return nullptr;
  auto it = obj.find(name);
  if (it == obj.end() || it->is_null()) return nullptr;
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

// A short rendering of a client's value for error messages (never the whole body).
std::string shown(const json& v) {
  std::string d = v.dump(-1, ' ', false, json::error_handler_t::replace);
  if (d.size() > 60) d = d.substr(0, 57) + "...";
  return d;
}

double number_field(const json& obj, const char* name, double lo, double hi, double def, std::string param = {}) {
  if (param.empty()) param = name;
  const json* v = field(obj, name);
  if (!v) return def;
  if (!v->is_number()) throw bad_param(param, fmt::format("'{}' must be a number, got {}", param, type_name(*v)));
  const double x = v->get<double>();
  if (!std::isfinite(x) || x < lo || x > hi)
    throw bad_param(param, fmt::format("'{}' must be between {} and {}, got {}", param, lo, hi, shown(*v)));
  return x;
}

// An integer in [lo, hi]; integral floats (3.0) count as integers.
int64_t int_field(const json& obj, const char* name, int64_t lo, int64_t hi, int64_t def, std::string param = {}) {
  if (param.empty()) param = name;
  const json* v = field(obj, name);
  if (!v) return def;
  const auto out_of_range = [&] {
    return bad_param(param, fmt::format("'{}' must be between {} and {}, got {}", param, lo, hi, shown(*v)));
  };
  if (v->is_number_float()) {
    const double x = v->get<double>();
    if (std::isfinite(x) && x == std::floor(x) && std::fabs(x) < 9e15) {
      const auto i = static_cast<int64_t>(x);
      if (i < lo || i > hi) throw out_of_range();
      return i;
    }
    if (std::isfinite(x) && x == std::floor(x)) throw out_of_range();
  }
  if (!v->is_number_integer())
    throw bad_param(param, fmt::format("'{}' must be an integer, got {}", param, v->is_number() ? shown(*v) : type_name(*v)));
  if (v->is_number_unsigned() && v->get<uint64_t>() > static_cast<uint64_t>(std::numeric_limits<int64_t>::max()))
    throw out_of_range();
  const int64_t i = v->get<int64_t>();
  if (i < lo || i > hi) throw out_of_range();
  return i;
}

bool bool_field(const json& obj, const char* name, bool def, std::string param = {}) {
  if (param.empty()) param = name;
  const json* v = field(obj, name);
  if (!v) return def;
  if (!v->is_boolean()) throw bad_param(param, fmt::format("'{}' must be a boolean, got {}", param, type_name(*v)));
  return v->get<bool>();
}

std::string string_field(const json& obj, const char* name, const std::string& def, std::string param = {}) {
  if (param.empty()) param = name;
  const json* v = field(obj, name);
  if (!v) return def;
  if (!v->is_string()) throw bad_param(param, fmt::format("'{}' must be a string, got {}", param, type_name(*v)));
  return v->get<std::string>();
}

// An optional object field: nullptr when absent or null, else the object.
const json* object_field(const json& obj, const char* name) {
  const json* v = field(obj, name);
  if (v && !v->is_object()) throw bad_param(name, fmt::format("'{}' must be an object, got {}", name, type_name(*v)));
  return v;
}

// seed: an integer in [-2^63, 2^64); negative ones wrap to their two's complement.
uint64_t seed_field(const json& body) {
  const json* v = field(body, "seed");
  if (v->is_number_unsigned()) return v->get<uint64_t>();
  return static_cast<uint64_t>(int_field(body, "seed", std::numeric_limits<int64_t>::min(),
                                         std::numeric_limits<int64_t>::max(), 0));
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
      if (!s.is_string())
        throw bad_param("stop", fmt::format("'stop' must be a string or an array of strings, got an array holding {}",
                                            type_name(s)));
      out.push_back(s.get<std::string>());
    }
  } else {
    throw bad_param("stop", fmt::format("'stop' must be a string or an array of strings, got {}", type_name(*v)));
  }
  for (const auto& s : out)
    if (s.size() > 1024) throw bad_param("stop", fmt::format("a stop string has {} bytes; at most 1024 are accepted", s.size()));
  return out;
}

// A grammar text parsed for a request; errors are 400s naming `param`.
std::shared_ptr<const grammar::Grammar> parse_grammar(const std::string& gbnf, const std::string& param) {
  try {
    return grammar::shared_gbnf(gbnf);
  } catch (const Error& e) {
    throw bad_param(param, fmt::format("'{}' is not a valid grammar: {}", param, e.what()));
  }
}

// The schema at `path` (keys from the body's root) with its key order, read from the raw
// body; the sorted one when there is no raw body.
std::shared_ptr<const grammar::Grammar> schema_grammar(const json& schema, const std::string& param,
                                                       std::string_view raw, std::initializer_list<const char*> path) {
  std::string gbnf;
  try {
    nlohmann::ordered_json ordered = raw.empty() ? nlohmann::ordered_json() : nlohmann::ordered_json::parse(raw, nullptr, false);
    const nlohmann::ordered_json* at = ordered.is_discarded() || raw.empty() ? nullptr : &ordered;
    for (const char* key : path) {
      if (!at || !at->is_object() || !at->contains(key)) {
        at = nullptr;
        break;
      }
      at = &(*at)[key];
    }
    gbnf = at ? grammar::json_schema_to_gbnf(*at) : grammar::json_schema_to_gbnf(schema);
  } catch (const Error& e) {
    throw bad_param(param, fmt::format("'{}' is not a supported JSON Schema: {}", param, e.what()));
  }
  return parse_grammar(gbnf, param);
}

// The answer's constraint: response_format (text | json_object | json_schema), or the
// llama.cpp-style extensions "grammar" (GBNF) and "json_schema"; at most one of them.
std::shared_ptr<const grammar::Grammar> grammar_fields(const json& body, std::string_view raw) {
  std::shared_ptr<const grammar::Grammar> out;
  int given = 0;
  if (const json* rf = field(body, "response_format")) {
    if (!rf->is_object()) throw bad_param("response_format", fmt::format("'response_format' must be an object, got {}", type_name(*rf)));
    const std::string type = string_field(*rf, "type", "text", "response_format.type");
    if (type == "json_object") {
      out = parse_grammar(grammar::json_object_gbnf(), "response_format");
      ++given;
    } else if (type == "json_schema") {
      const json* js = field(*rf, "json_schema");
      if (!js || !js->is_object())
        throw bad_param("response_format.json_schema", "response_format type json_schema needs a 'json_schema' object");
      if (field(*js, "name") && !field(*js, "name")->is_string())
        throw bad_param("response_format.json_schema.name", "'response_format.json_schema.name' must be a string");
      bool_field(*js, "strict", false, "response_format.json_schema.strict");
      const json* schema = field(*js, "schema");
      if (!schema) throw bad_param("response_format.json_schema.schema", "response_format.json_schema has no 'schema'");
      out = schema_grammar(*schema, "response_format.json_schema.schema", raw, {"response_format", "json_schema", "schema"});
      ++given;
    } else if (type != "text") {
      throw bad_param("response_format.type", fmt::format("'response_format.type' must be text, json_object or "
                                                          "json_schema, got \"{}\"", type));
    }
  }
  if (const json* g = field(body, "grammar")) {
    if (!g->is_string()) throw bad_param("grammar", fmt::format("'grammar' must be a string (GBNF), got {}", type_name(*g)));
    out = parse_grammar(g->get<std::string>(), "grammar");
    ++given;
  }
  if (const json* js = field(body, "json_schema")) {
    out = schema_grammar(*js, "json_schema", raw, {"json_schema"});
    ++given;
  }
  if (given > 1)
    throw bad_param("response_format", "give at most one of response_format (json_object / json_schema), grammar and json_schema");
  return out;
}

bool valid_function_name(const std::string& n) {
  if (n.empty() || n.size() > 64) return false;
  return std::all_of(n.begin(), n.end(), [](char c) {
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_' || c == '-';
  });
}

ToolRequest parse_tools(const json& body, const RequestLimits& lim, std::string_view raw) {
  ToolRequest t;
  std::vector<std::string> names;
  if (const json* tools = field(body, "tools")) {
    if (!tools->is_array()) throw bad_param("tools", fmt::format("'tools' must be an array, got {}", type_name(*tools)));
    if (static_cast<int64_t>(tools->size()) > lim.max_tools)
      throw bad_param("tools", fmt::format("'tools' may hold at most {} tools, got {}", lim.max_tools, tools->size()));
    for (size_t i = 0; i < tools->size(); ++i) {
      const json& tool = (*tools)[i];
      const std::string where = fmt::format("tools[{}]", i);
      if (!tool.is_object()) throw bad_param(where, fmt::format("{} must be an object, got {}", where, type_name(tool)));
      if (string_field(tool, "type", "function", where + ".type") != "function")
        throw bad_param(where + ".type", where + ".type must be \"function\"");
      const json* fn = field(tool, "function");
      if (!fn || !fn->is_object()) throw bad_param(where + ".function", where + " needs a 'function' object");
      const std::string name = string_field(*fn, "name", "", where + ".function.name");
      if (!valid_function_name(name))
        throw bad_param(where + ".function.name",
                        fmt::format("{}.function.name must be 1 to 64 of a-z, A-Z, 0-9, _ and -, got \"{}\"", where, name));
      if (std::find(names.begin(), names.end(), name) != names.end())
        throw bad_param(where + ".function.name", fmt::format("two tools are named \"{}\"", name));
      names.push_back(name);
      string_field(*fn, "description", "", where + ".function.description");
      if (const json* p = field(*fn, "parameters"); p && !p->is_object())
        throw bad_param(where + ".function.parameters",
                        fmt::format("{}.function.parameters must be a JSON Schema object, got {}", where, type_name(*p)));
      bool_field(*fn, "strict", false, where + ".function.strict");
    }
    // The tools with their key order, from the raw body when there is one.
    nlohmann::ordered_json ordered = raw.empty() ? nlohmann::ordered_json() : nlohmann::ordered_json::parse(raw, nullptr, false);
    if (!ordered.is_discarded() && ordered.is_object() && ordered.contains("tools") && ordered["tools"].is_array())
      t.tools = ordered["tools"];
    else
      t.tools = nlohmann::ordered_json::parse(tools->dump());
    for (auto& tool : t.tools) tool["type"] = "function";
  }
  if (const json* c = field(body, "tool_choice")) {
    if (c->is_string()) {
      const std::string v = c->get<std::string>();
      if (v == "none") t.choice = ToolChoice::none;
      else if (v == "auto") t.choice = ToolChoice::automatic;
      else if (v == "required") t.choice = ToolChoice::required;
      else throw bad_param("tool_choice", fmt::format("'tool_choice' must be none, auto, required or "
                                                      "{{\"type\": \"function\", \"function\": {{\"name\": ...}}}}, got \"{}\"", v));
    } else if (c->is_object()) {
      const json* fn = field(*c, "function");
      const json* name = fn ? field(*fn, "name") : nullptr;
      if (!name || !name->is_string())
        throw bad_param("tool_choice", "'tool_choice' as an object needs {\"type\": \"function\", \"function\": {\"name\": string}}");
      t.choice = ToolChoice::named;
      t.name = name->get<std::string>();
      if (std::find(names.begin(), names.end(), t.name) == names.end())
        throw bad_param("tool_choice", fmt::format("'tool_choice' names the function \"{}\", which is not in 'tools'", t.name));
    } else {
      throw bad_param("tool_choice", fmt::format("'tool_choice' must be a string or an object, got {}", type_name(*c)));
    }
    if (t.choice == ToolChoice::required && names.empty())
      throw bad_param("tool_choice", "'tool_choice' required needs a non-empty 'tools'");
  }
  t.parallel = bool_field(body, "parallel_tool_calls", true);
  return t;
}

// Settings both endpoints share, written into `g`; the prompt is set by the caller.
void parse_common(const json& body, const RequestLimits& lim, ApiRequest& r, GenerateRequest& g, int32_t default_max,
                  std::string_view raw) {
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
  if (field(body, "seed")) {
    s.seed = seed_field(body);
    s.exact_seed = true;
  }
  g.stop = stop_field(body, lim);
  r.n = static_cast<int32_t>(int_field(body, "n", 1, lim.max_n, 1));
  if (field(body, "best_of") && int_field(body, "best_of", 1, lim.max_n, r.n) != r.n)
    throw bad_param("best_of", "'best_of' other than n is not supported");
  r.stream = bool_field(body, "stream", false);
  if (const json* so = object_field(body, "stream_options"))
    r.include_usage = bool_field(*so, "include_usage", false, "stream_options.include_usage");
  const char* max_name = field(body, "max_completion_tokens") ? "max_completion_tokens" : "max_tokens";
  g.max_tokens = static_cast<int32_t>(int_field(body, max_name, 1, lim.max_tokens, default_max));
  g.ignore_eos = bool_field(body, "ignore_eos", false);

  // Reasoning budget.
  int32_t budget = -1;
  if (field(body, "reasoning_effort")) budget = effort_budget(string_field(body, "reasoning_effort", ""));
  if (const json* th = object_field(body, "thinking")) {
    const std::string type = string_field(*th, "type", "enabled", "thinking.type");
    if (type == "disabled") g.no_think = true;
    else if (type != "enabled")
      throw bad_param("thinking.type", "'thinking.type' must be \"enabled\" or \"disabled\"");
    if (field(*th, "budget_tokens"))
      budget = static_cast<int32_t>(int_field(*th, "budget_tokens", 0, lim.max_tokens, -1, "thinking.budget_tokens"));
  }
  if (field(body, "thinking_budget"))
    budget = static_cast<int32_t>(int_field(body, "thinking_budget", -1, std::numeric_limits<int32_t>::max(), -1));
  g.think_budget = g.no_think ? -1 : budget;

  g.grammar = grammar_fields(body, raw);
  if (const json* lb = object_field(body, "logit_bias"); lb && !lb->empty())
    throw bad_param("logit_bias", "'logit_bias' is not supported by this server (omit it or send {})");
}

// prompts x n within the request's share of the queue.
void check_choices(const ApiRequest& r, size_t prompts, const RequestLimits& lim) {
  const int64_t choices = static_cast<int64_t>(prompts) * r.n;
  if (choices > lim.max_choices)
    throw bad_param("n", fmt::format("this request asks for {} choices ({} prompt{} x n = {}); this server takes at "
                                     "most {} per request (--max-choices)",
                                     choices, prompts, prompts == 1 ? "" : "s", r.n, lim.max_choices));
}

// One request per choice: prompt-major, seeds offset by the choice number.
void expand_choices(ApiRequest& r, const std::vector<GenerateRequest>& prompts) {
  for (const auto& p : prompts)
    for (int32_t i = 0; i < r.n; ++i) {
      GenerateRequest g = p;
      if (g.sampling.exact_seed) g.sampling.seed += static_cast<uint64_t>(i);
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
    throw bad_param("messages", fmt::format("'messages' must be a non-empty array, got {}",
                                            messages.is_array() ? "an empty array" : type_name(messages)));
  json out = json::array();
  for (size_t i = 0; i < messages.size(); ++i) {
    const json& m = messages[i];
    const std::string where = fmt::format("messages[{}]", i);
    if (!m.is_object()) throw bad_param(where, fmt::format("{} must be an object, got {}", where, type_name(m)));
    const json* role_v = field(m, "role");
    if (!role_v || !role_v->is_string()) throw bad_param(where + ".role", where + " has no string 'role'");
    std::string role = role_v->get<std::string>();
    if (role == "developer") role = "system";
    if (role != "system" && role != "user" && role != "assistant" && role != "tool")
      throw bad_param(where + ".role", fmt::format("{} has an unknown role \"{}\"", where, role));
    json n = {{"role", role}};
    const json* c = field(m, "content");
    if (!c) {
      if (role != "assistant") throw bad_param(where + ".content", where + " has no 'content'");
      n["content"] = nullptr;
    } else if (c->is_string()) {
      n["content"] = *c;
    } else if (c->is_array()) {
      std::string text;
      for (size_t k = 0; k < c->size(); ++k) {
        const json& part = (*c)[k];
        const json* type = field(part, "type");
        const json* part_text = field(part, "text");
        if (!type || *type != "text" || !part_text || !part_text->is_string())
          throw bad_param(where + ".content",
                          fmt::format("{}.content[{}]: only text parts {{\"type\": \"text\", \"text\": string}} are "
                                      "supported, got {}", where, k, shown(part)));
        if (!text.empty()) text += "\n";
        text += part_text->get<std::string>();
      }
      n["content"] = text;
    } else {
      throw bad_param(where + ".content", fmt::format("{}.content must be a string or an array of text parts, got {}",
                                                      where, type_name(*c)));
    }
    const json* tc = role == "assistant" ? field(m, "tool_calls") : nullptr;
    if (tc) {
      const std::string param = where + ".tool_calls";
      if (!tc->is_array()) throw bad_param(param, fmt::format("{} must be an array, got {}", param, type_name(*tc)));
      json calls = json::array();
      for (const json& t : *tc) {
        const json* f = field(t, "function");
        if (!f || !f->is_object()) throw bad_param(param, param + ": a tool call needs a 'function' object");
        const json* name = field(*f, "name");
        if (!name || !name->is_string()) throw bad_param(param, param + ": a tool call's function needs a string 'name'");
        const json* args_v = field(*f, "arguments");
        const std::string args = !args_v ? "{}" : args_v->is_string() ? args_v->get<std::string>() : args_v->dump();
        calls.push_back({{"type", "function"}, {"function", {{"name", *name}, {"arguments", args}}}});
      }
      if (!calls.empty()) n["tool_calls"] = calls;
    }
    out.push_back(std::move(n));
  }
  return out;
}

ApiRequest parse_chat_request(const json& body, const RequestLimits& lim, std::string_view raw) {
  ApiRequest r;
  if (body.is_object()) r.tools = parse_tools(body, lim, raw);
  GenerateRequest g;
  parse_common(body, lim, r, g, lim.max_tokens, raw);
  const json* messages = field(body, "messages");
  if (!messages) throw bad_param("messages", "'messages' is required");
  g.messages = normalize_messages(*messages);
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
  if (r.tools.active()) g.tools = r.tools.tools;
  if (r.tools.forced() && g.grammar)
    throw bad_param("response_format", "response_format, grammar and json_schema cannot be combined with 'tool_choice' "
                                       "required or a named function (the answer is the call)");
  check_choices(r, 1, lim);
  expand_choices(r, {g});
  return r;
}

ApiRequest parse_completion_request(const json& body, const RequestLimits& lim, std::string_view raw) {
  ApiRequest r;
  GenerateRequest g;
  parse_common(body, lim, r, g, std::min<int32_t>(16, lim.max_tokens), raw);
  if (bool_field(body, "echo", false)) throw bad_param("echo", "'echo' is not supported");
  if (!string_field(body, "suffix", "").empty()) throw bad_param("suffix", "'suffix' is not supported");
  if (field(body, "logprobs")) {
    r.logprobs = true;
    r.top_logprobs = static_cast<int32_t>(int_field(body, "logprobs", 0, std::min<int64_t>(5, lim.max_top_logprobs), 0));
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
      if (!id.is_number_integer())
        throw bad_param("prompt", fmt::format("a token-id prompt must hold integers only, got {}", shown(id)));
      constexpr int64_t kMax = std::numeric_limits<int32_t>::max();
      const bool in_range = id.is_number_unsigned() ? id.get<uint64_t>() <= uint64_t{kMax}
                                                    : id.get<int64_t>() >= 0 && id.get<int64_t>() <= kMax;
      if (!in_range)
        throw bad_param("prompt", fmt::format("token id {} is out of range", shown(id)));
      q.prompt_tokens.push_back(id.get<int32_t>());
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
  check_choices(r, prompts.size(), lim);
  expand_choices(r, prompts);
  return r;
}

TokenizeRequest parse_tokenize_request(const json& body) {
  if (!body.is_object()) throw ApiError(400, fmt::format("the request body must be a JSON object, got {}", type_name(body)));
  TokenizeRequest t;
  t.with_pieces = bool_field(body, "with_pieces", false);
  if (const json* messages = field(body, "messages")) {
    t.messages = normalize_messages(*messages);
    t.add_generation_prompt = bool_field(body, "add_generation_prompt", true);
    return t;
  }
  const json* content = field(body, "content");
  if (!content || !content->is_string())
    throw bad_param("content", fmt::format("'content' must be a string (or give 'messages'), got {}",
                                           content ? type_name(*content) : "nothing"));
  t.content = content->get<std::string>();
  t.add_special = bool_field(body, "add_special", false);
  t.parse_special = bool_field(body, "parse_special", true);
  return t;
}

std::vector<int32_t> parse_detokenize_request(const json& body, int32_t n_vocab) {
  const json* tokens = field(body, "tokens");
  if (!tokens || !tokens->is_array()) throw bad_param("tokens", "'tokens' must be an array of token ids");
  std::vector<int32_t> ids;
  for (const json& v : *tokens) {
    if (!v.is_number_integer()) throw bad_param("tokens", fmt::format("'tokens' must hold integers only, got {}", shown(v)));
    const bool in_range = v.is_number_unsigned() ? v.get<uint64_t>() < static_cast<uint64_t>(std::max(n_vocab, 0))
                                                 : v.get<int64_t>() >= 0 && v.get<int64_t>() < n_vocab;
    if (!in_range) throw bad_param("tokens", fmt::format("token id {} is out of range [0, {})", shown(v), n_vocab));
    ids.push_back(v.get<int32_t>());
  }
  return ids;
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
