// The converter builds one GBNF rule per schema node (named after its path) and a few
// shared primitive rules; the root rule is the schema itself followed by nothing.
#include "grammar/json_schema.hpp"

#include <map>
#include <set>
#include <vector>

#include "base/error.hpp"
#include "grammar/gbnf.hpp"

namespace r1::grammar {

namespace {

using json = nlohmann::ordered_json;

constexpr int kMaxDepth = 64;
constexpr size_t kMaxRules = 4096;

// Primitive rules, emitted when used. Every value rule ends with `ws`.
const std::map<std::string, std::string>& primitives() {
  static const std::map<std::string, std::string> p = {
      {"ws", R"(| " " | "\n" [ \t]{0,20})"},
      {"char", R"([^"\\\x00-\x1F\x7F] | "\\" (["\\/bfnrt] | "u" [0-9a-fA-F]{4}))"},
      {"string", R"("\"" char* "\"" ws)"},
      {"integer", R"("-"? ("0" | [1-9] [0-9]{0,15}) ws)"},
      {"number", R"("-"? ("0" | [1-9] [0-9]{0,15}) ("." [0-9]{1,16})? ([eE] [-+]? [0-9]{1,3})? ws)"},
      {"boolean", R"(("true" | "false") ws)"},
      {"null", R"("null" ws)"},
      {"value", R"(object | array | string | number | boolean | null)"},
      {"object", R"("{" ws (string ":" ws value ("," ws string ":" ws value)*)? "}" ws)"},
      {"array", R"("[" ws (value ("," ws value)*)? "]" ws)"},
      {"date", R"([0-9]{4} "-" ("0" [1-9] | "1" [0-2]) "-" ("0" [1-9] | [1-2] [0-9] | "3" [0-1]))"},
      {"time", R"(([01] [0-9] | "2" [0-3]) ":" [0-5] [0-9] ":" [0-5] [0-9] ("." [0-9]{1,6})? ("Z" | [+-] ([01] [0-9] | "2" [0-3]) ":" [0-5] [0-9]))"},
      {"date-time", R"(date "T" time)"},
      {"uuid", R"([0-9a-fA-F]{8} "-" [0-9a-fA-F]{4} "-" [0-9a-fA-F]{4} "-" [0-9a-fA-F]{4} "-" [0-9a-fA-F]{12})"},
  };
  return p;
}

// Which primitives a primitive uses.
const std::map<std::string, std::vector<std::string>>& primitive_deps() {
  static const std::map<std::string, std::vector<std::string>> d = {
      {"string", {"char", "ws"}}, {"integer", {"ws"}}, {"number", {"ws"}}, {"boolean", {"ws"}},
      {"null", {"ws"}}, {"value", {"object", "array", "string", "number", "boolean", "null"}},
      {"object", {"ws", "string", "value"}}, {"array", {"ws", "value"}}, {"date-time", {"date", "time"}},
  };
  return d;
}

std::string literal(const std::string& s) { return gbnf_literal(s); }

class Converter {
 public:
  // name: the rule the schema becomes; the converter's own rules start with it.
  Converter(const json& root, std::string name) : root_(root), name_(std::move(name)) {}

  void run(GbnfRules& out) {
    std::string top = visit(root_, name_ + "-value", "schema", 0);
    add_rule_named(name_, top);
    for (const std::string& name : order_) out.add(name, rules_.at(name));
  }

 private:
  template <class... Args>
  [[noreturn]] void error(const std::string& path, fmt::format_string<Args...> f, Args&&... args) {
    fail("{}: {}", path, fmt::format(f, std::forward<Args>(args)...));
  }

  std::string use(const std::string& prim) {
    if (!used_.insert(prim).second) return prim;
    auto d = primitive_deps().find(prim);
    if (d != primitive_deps().end())
      for (const std::string& dep : d->second) use(dep);
    add_rule_named(prim, primitives().at(prim));
    return prim;
  }

  void add_rule_named(const std::string& name, const std::string& body) {
    if (rules_.size() >= kMaxRules) fail("schema: expands to more than {} grammar rules", kMaxRules);
    if (rules_.emplace(name, body).second) order_.push_back(name);
    else rules_[name] = body;
  }

  // A fresh rule name from a hint (GBNF names are [a-zA-Z0-9-]).
  std::string fresh(const std::string& hint) {
    std::string base;
    for (char c : hint) base += ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9')) ? c : '-';
    if (base.empty()) base = "r";
    std::string name = base;
    for (int i = 1; rules_.count(name) || reserved_.count(name) || primitives().count(name) || name == name_; ++i)
      name = fmt::format("{}-{}", base, i);
    reserved_.insert(name);
    return name;
  }

  std::string rule(const std::string& hint, const std::string& body) {
    std::string name = fresh(hint);
    add_rule_named(name, body);
    return name;
  }

  void check_unsupported(const json& s, const std::string& path) {
    static const char* kUnsupported[] = {"pattern", "minimum", "maximum", "exclusiveMinimum", "exclusiveMaximum",
                                         "multipleOf", "minProperties", "maxProperties", "allOf", "not", "if",
                                         "then", "else", "patternProperties", "dependentRequired",
                                         "dependentSchemas", "contains", "unevaluatedProperties",
                                         "unevaluatedItems", "propertyNames"};
    for (const char* k : kUnsupported)
      if (s.contains(k)) error(path, "{} is not supported", k);
    if (s.contains("uniqueItems") && s["uniqueItems"] != json(false)) error(path, "uniqueItems is not supported");
  }

  int64_t count(const json& s, const char* key, const std::string& path, int64_t dflt) {
    if (!s.contains(key)) return dflt;
    const json& v = s[key];
    if (!v.is_number_integer() && !(v.is_number_float() && v.get<double>() == static_cast<double>(static_cast<int64_t>(v.get<double>()))))
      error(path, "{} must be a non-negative integer", key);
    int64_t n = v.is_number_integer() ? v.get<int64_t>() : static_cast<int64_t>(v.get<double>());
    if (n < 0) error(path, "{} must be a non-negative integer", key);
    if (n > 2000) error(path, "{} over 2000 is not supported", key);
    return n;
  }

  // `item` repeated min..max times (max < 0: unbounded), separated by `sep`.
  static std::string repeated(const std::string& item, const std::string& sep, int64_t min, int64_t max) {
    if (max == 0) return "";
    std::string first = item;
    std::string rest = "(" + sep + " " + item + ")";
    if (min == 0) {
      std::string tail = max < 0 ? rest + "*" : (max - 1 > 0 ? rest + fmt::format("{{0,{}}}", max - 1) : "");
      return "(" + first + " " + tail + ")?";
    }
    std::string tail = max < 0 ? rest + fmt::format("{{{},}}", min - 1)
                               : rest + fmt::format("{{{},{}}}", min - 1, max - 1);
    return first + " " + tail;
  }

  std::string resolve_ref(const std::string& ref, const std::string& path) {
    auto it = refs_.find(ref);
    if (it != refs_.end()) return it->second;
    const json* target = nullptr;
    if (ref == "#") {
      target = &root_;
    } else {
      for (const char* prefix : {"#/$defs/", "#/definitions/"}) {
        const std::string p = prefix;
        if (ref.rfind(p, 0) != 0) continue;
        const std::string key = p.substr(2, p.size() - 3);
        const std::string name = ref.substr(p.size());
        if (root_.is_object() && root_.contains(key) && root_[key].is_object() && root_[key].contains(name))
          target = &root_[key][name];
      }
    }
    if (target == nullptr) error(path, "$ref '{}' does not resolve (only #, #/$defs/NAME and #/definitions/NAME)", ref);
    std::string name = fresh("ref-" + ref.substr(ref.rfind('/') + 1));
    refs_.emplace(ref, name);
    std::string body = visit(*target, name + "-value", path + "($ref " + ref + ")", 1);
    add_rule_named(name, body);
    return name;
  }

  std::string visit_object(const json& s, const std::string& hint, const std::string& path, int depth) {
    const json* props = s.contains("properties") ? &s["properties"] : nullptr;
    if (props && !props->is_object()) error(path, "properties must be an object");
    std::set<std::string> required;
    if (s.contains("required")) {
      if (!s["required"].is_array()) error(path, "required must be an array of names");
      for (const json& r : s["required"]) {
        if (!r.is_string()) error(path, "required must be an array of names");
        if (!props || !props->contains(r.get<std::string>()))
          error(path, "required property '{}' is not in properties", r.get<std::string>());
        required.insert(r.get<std::string>());
      }
    }
    const json* extra = s.contains("additionalProperties") ? &s["additionalProperties"] : nullptr;
    if (extra && !extra->is_boolean() && !extra->is_object()) error(path, "additionalProperties must be a boolean or a schema");
    const bool map = extra && extra->is_object() && (!props || props->empty());
    if (extra && extra->is_object() && !map)
      error(path, "additionalProperties as a schema together with properties is not supported");
    if (map) {
      std::string value = visit(*extra, hint + "-additional", path + ".additionalProperties", depth + 1);
      std::string kv = rule(hint + "-kv", use("string") + " \":\" " + use("ws") + " " + value);
      return "\"{\" " + use("ws") + " " + repeated(kv, "\",\" " + use("ws"), 0, -1) + " \"}\" " + use("ws");
    }
    if (!props || props->empty()) {
      if (extra && extra->is_boolean() && !extra->get<bool>()) return "\"{\" " + use("ws") + " \"}\" " + use("ws");
      return use("object");  // any object
    }
    // Properties in order; optional ones may be skipped. first[i]: the members from i on
    // with none written before; later[i]: the same after at least one (comma first).
    std::vector<std::string> kv;
    std::vector<bool> req;
    for (auto it = props->begin(); it != props->end(); ++it) {
      std::string value = visit(it.value(), hint + "-" + it.key(), path + ".properties." + it.key(), depth + 1);
      kv.push_back(rule(hint + "-" + it.key() + "-kv", literal(json(it.key()).dump()) + " " + use("ws") + " \":\" " +
                                                             use("ws") + " " + value));
      req.push_back(required.count(it.key()) > 0);
    }
    const size_t n = kv.size();
    std::vector<std::string> later(n + 1), first(n + 1);
    later[n] = "";
    first[n] = "";
    const std::string comma = "\",\" " + use("ws");
    for (size_t i = n; i-- > 0;) {
      const std::string next_later = later[i + 1].empty() ? "" : " " + later[i + 1];
      std::string l = req[i] ? comma + " " + kv[i] + next_later : "(" + comma + " " + kv[i] + ")?" + next_later;
      later[i] = rule(hint + "-after-" + std::to_string(i), l.empty() ? "\"\"" : l);
      std::string f;
      if (req[i]) {
        f = kv[i] + next_later;
      } else {
        f = kv[i] + next_later + " | " + (first[i + 1].empty() ? "\"\"" : first[i + 1]);
      }
      first[i] = rule(hint + "-from-" + std::to_string(i), f);
    }
    return "\"{\" " + use("ws") + " " + first[0] + " \"}\" " + use("ws");
  }

  std::string visit_array(const json& s, const std::string& hint, const std::string& path, int depth) {
    const int64_t min = count(s, "minItems", path, 0);
    const int64_t max = count(s, "maxItems", path, -1);
    if (max >= 0 && max < min) error(path, "maxItems is below minItems");
    const std::string open = "\"[\" " + use("ws") + " ", close = " \"]\" " + use("ws");
    const std::string comma = "\",\" " + use("ws");
    if (s.contains("prefixItems")) {
      const json& p = s["prefixItems"];
      if (!p.is_array()) error(path, "prefixItems must be an array of schemas");
      if (s.contains("items") && s["items"] != json(false)) error(path, "items after prefixItems is not supported");
      std::string body;
      for (size_t i = 0; i < p.size(); ++i) {
        std::string item = visit(p[i], hint + "-" + std::to_string(i), path + ".prefixItems[" + std::to_string(i) + "]", depth + 1);
        body += (i ? " " + comma + " " : "") + item;
      }
      if (static_cast<int64_t>(p.size()) < min || (max >= 0 && static_cast<int64_t>(p.size()) > max))
        error(path, "prefixItems length does not fit minItems/maxItems");
      return open + body + close;
    }
    std::string item = s.contains("items") ? visit(s["items"], hint + "-item", path + ".items", depth + 1) : use("value");
    return open + repeated(item, comma, min, max) + close;
  }

  std::string visit_string(const json& s, const std::string& path) {
    if (s.contains("format")) {
      if (!s["format"].is_string()) error(path, "format must be a string");
      const std::string f = s["format"].get<std::string>();
      if (f != "date" && f != "time" && f != "date-time" && f != "uuid") error(path, "format '{}' is not supported", f);
      return "\"\\\"\" " + use(f) + " \"\\\"\" " + use("ws");
    }
    const int64_t min = count(s, "minLength", path, 0);
    const int64_t max = count(s, "maxLength", path, -1);
    if (max >= 0 && max < min) error(path, "maxLength is below minLength");
    if (min == 0 && max < 0) return use("string");
    std::string reps = max < 0 ? fmt::format("{{{},}}", min) : fmt::format("{{{},{}}}", min, max);
    return "\"\\\"\" " + use("char") + reps + " \"\\\"\" " + use("ws");
  }

  std::string visit_type(const std::string& type, const json& s, const std::string& hint, const std::string& path, int depth) {
    if (type == "object") return visit_object(s, hint, path, depth);
    if (type == "array") return visit_array(s, hint, path, depth);
    if (type == "string") return visit_string(s, path);
    if (type == "integer" || type == "number" || type == "boolean" || type == "null") return use(type);
    error(path, "unknown type '{}'", type);
  }

  // Returns a GBNF expression (a rule name or a parenthesised sequence) for schema s.
  std::string visit(const json& s, const std::string& hint, const std::string& path, int depth) {
    if (depth > kMaxDepth) error(path, "nested deeper than {}", kMaxDepth);
    if (s.is_boolean()) {
      if (!s.get<bool>()) error(path, "the schema false accepts nothing");
      return use("value");
    }
    if (!s.is_object()) error(path, "a schema must be an object or a boolean");
    check_unsupported(s, path);
    if (s.contains("$ref")) {
      if (!s["$ref"].is_string()) error(path, "$ref must be a string");
      return resolve_ref(s["$ref"].get<std::string>(), path);
    }
    if (s.contains("const")) return rule(hint, literal(s["const"].dump()) + " " + use("ws"));
    if (s.contains("enum")) {
      const json& e = s["enum"];
      if (!e.is_array() || e.empty()) error(path, "enum must be a non-empty array");
      std::string body;
      for (const json& v : e) body += (body.empty() ? "" : " | ") + literal(v.dump());
      return rule(hint, "(" + body + ") " + use("ws"));
    }
    for (const char* key : {"anyOf", "oneOf"}) {
      if (!s.contains(key)) continue;
      const json& alts = s[key];
      if (!alts.is_array() || alts.empty()) error(path, "{} must be a non-empty array of schemas", key);
      std::string body;
      for (size_t i = 0; i < alts.size(); ++i) {
        json sub = alts[i];
        // Keywords beside anyOf apply to every branch (a common way to write nullable types).
        if (sub.is_object())
          for (auto it = s.begin(); it != s.end(); ++it)
            if (it.key() != key && !sub.contains(it.key())) sub[it.key()] = it.value();
        body += (i ? " | " : "") + visit(sub, hint + "-" + std::to_string(i), path + "." + key + "[" + std::to_string(i) + "]", depth + 1);
      }
      return rule(hint, body);
    }
    if (!s.contains("type")) {
      if (s.contains("properties")) return rule(hint, visit_object(s, hint, path, depth));
      if (s.contains("items") || s.contains("prefixItems")) return rule(hint, visit_array(s, hint, path, depth));
      return use("value");
    }
    const json& t = s["type"];
    if (t.is_string()) return rule(hint, visit_type(t.get<std::string>(), s, hint, path, depth));
    if (!t.is_array() || t.empty()) error(path, "type must be a string or a non-empty array of strings");
    std::string body;
    for (const json& one : t) {
      if (!one.is_string()) error(path, "type must be a string or a non-empty array of strings");
      body += (body.empty() ? "" : " | ") + std::string("(") + visit_type(one.get<std::string>(), s, hint, path, depth) + ")";
    }
    return rule(hint, body);
  }

  const json& root_;
  std::string name_;
  std::map<std::string, std::string> rules_;
  std::vector<std::string> order_;
  std::set<std::string> used_, reserved_;
  std::map<std::string, std::string> refs_;
};

}  // namespace

void GbnfRules::add(const std::string& name, const std::string& body) {
  auto it = bodies_.find(name);
  if (it != bodies_.end()) {
    if (it->second != body) fail("grammar: rule '{}' is defined twice with different bodies", name);
    return;
  }
  bodies_.emplace(name, body);
  order_.push_back(name);
}

std::string GbnfRules::text() const {
  std::string out;
  for (const std::string& name : order_) out += name + " ::= " + bodies_.at(name) + "\n";
  return out;
}

void add_json_schema_rules(GbnfRules& rules, const nlohmann::ordered_json& schema, const std::string& name) {
  try {
    Converter(schema, name).run(rules);
  } catch (const nlohmann::json::exception& e) {
    fail("schema: {}", e.what());
  }
}

std::string json_schema_to_gbnf(const nlohmann::ordered_json& schema) {
  GbnfRules rules;
  add_json_schema_rules(rules, schema, "root");
  return rules.text();
}

std::string json_schema_to_gbnf(const nlohmann::json& schema) {
  return json_schema_to_gbnf(nlohmann::ordered_json::parse(schema.dump()));
}

std::string json_object_gbnf() {
  return json_schema_to_gbnf(nlohmann::ordered_json{{"type", "object"}});
}

}  // namespace r1::grammar
