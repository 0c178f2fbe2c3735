// Jinja built-ins: member access and methods, slices, filters, tests (globals:
// jinja_globals.cpp).
// Behaviour follows @huggingface/jinja except where jinja.hpp lists a difference.
#include <algorithm>
#include <bit>
#include <cmath>
#include <optional>

#include "base/error.hpp"
#include "tokenizer/jinja_budget.hpp"
#include "tokenizer/jinja_eval.hpp"

namespace r1::jinja {

FunctionPtr make_fn(std::string name, std::function<Value(const CallArgs&)> f) {
  auto fn = std::make_shared<Function>();
  fn->name = std::move(name);
  fn->call = [f = std::move(f)](const CallArgs& a, Scope&) { return f(a); };
  return fn;
}

const std::string& want_string(const Value* v, const char* what, int line) {
  if (!v || !v->is_string()) runtime_error(line, fmt::format("{} must be a string", what));
  return v->str();
}

namespace {

std::string ascii_lower(std::string s) {
  for (char& c : s)
    if (c >= 'A' && c <= 'Z') c = char(c - 'A' + 'a');
  return s;
}
std::string ascii_upper(std::string s) {
  for (char& c : s)
    if (c >= 'a' && c <= 'z') c = char(c - 'a' + 'A');
  return s;
}
bool is_word_byte(char c) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_';
}
// JavaScript /\b\w/g upper-casing (title()).
std::string title_case(std::string s) {
  for (size_t i = 0; i < s.size(); ++i)
    if (is_word_byte(s[i]) && (i == 0 || !is_word_byte(s[i - 1])) && s[i] >= 'a' && s[i] <= 'z') s[i] = char(s[i] - 32);
  return s;
}
std::string capitalize(std::string s) {
  if (!s.empty() && s[0] >= 'a' && s[0] <= 'z') s[0] = char(s[0] - 32);
  return s;
}

// The code points of s, charged one step per byte (each becomes a small string).
std::vector<std::string> chars_of(const std::string& s, int line) {
  charge_steps(line, int64_t(s.size()));
  return utf8_chars(s);
}

// A search for `needle` in `hay` may take up to |hay| * |needle| byte comparisons.
void charge_search(int line, size_t hay, size_t needle) { charge_steps(line, int64_t(hay / 64 + 1) * int64_t(needle / 64 + 1)); }


// Python str.strip(chars): chars as a set of code points; none/absent: whitespace.
std::string strip_chars(const std::string& s, const Value* chars, bool left, bool right, int line) {
  if (!chars || chars->is_none() || chars->is_undefined()) return js_trim(s, left, right);
  const std::vector<std::string> set = chars_of(want_string(chars, "strip() argument", line), line);
  std::vector<std::string> cs = chars_of(s, line);
  charge_steps(line, int64_t(set.size()));
  auto in_set = [&](const std::string& c) { return std::find(set.begin(), set.end(), c) != set.end(); };
  size_t b = 0, e = cs.size();
  if (left)
    while (b < e && in_set(cs[b])) ++b;
  if (right)
    while (e > b && in_set(cs[e - 1])) --e;
  std::string out;
  for (size_t i = b; i < e; ++i) out += cs[i];
  return out;
}

// Whitespace-separated words; with maxsplit >= 0 the last element keeps the rest.
Array split_whitespace(const std::string& s, int64_t maxsplit) {
  Array out;
  size_t i = 0;
  for (;;) {
    while (size_t n = js_space_at(s, i)) i += n;
    if (i >= s.size()) break;
    if (maxsplit >= 0 && int64_t(out.size()) >= maxsplit) {
      out.emplace_back(s.substr(i));
      break;
    }
    size_t j = i;
    while (j < s.size() && !js_space_at(s, j)) ++j;
    out.emplace_back(s.substr(i, j - i));
    i = j;
  }
  return out;
}

Array split_sep(const std::string& s, const std::string& sep, int64_t maxsplit, bool from_right, int line) {
  if (sep.empty()) runtime_error(line, "split(): empty separator");
  std::vector<std::string> parts;
  if (!from_right) {
    size_t start = 0;
    for (;;) {
      charge_search(line, s.size() - start, sep.size());
      const size_t p = s.find(sep, start);
      if (p == std::string::npos || (maxsplit >= 0 && int64_t(parts.size()) >= maxsplit)) break;
      parts.push_back(s.substr(start, p - start));
      start = p + sep.size();
    }
    parts.push_back(s.substr(start));
  } else {
    size_t end = s.size();
    for (;;) {
      if (maxsplit >= 0 && int64_t(parts.size()) >= maxsplit) break;
      if (end < sep.size()) break;
      charge_search(line, end, sep.size());
      const size_t p = s.rfind(sep, end - sep.size());
      if (p == std::string::npos) break;
      parts.push_back(s.substr(p + sep.size(), end - p - sep.size()));
      end = p;
    }
    parts.push_back(s.substr(0, end));
    std::reverse(parts.begin(), parts.end());
  }
  Array out;
  for (auto& p : parts) out.emplace_back(std::move(p));
  return out;
}

int64_t int_arg(const Value* v, int64_t fallback, const char* what, int line) {
  if (!v || v->is_none() || v->is_undefined()) return fallback;
  if (!v->is_int()) runtime_error(line, fmt::format("{} must be an integer", what));
  return v->as_int();
}

bool bool_arg(const Value* v, bool fallback, const char* what, int line) {
  if (!v) return fallback;
  if (!v->is_bool()) runtime_error(line, fmt::format("{} must be a boolean", what));
  return v->as_bool();
}

std::string replace_all(const std::string& s, const std::string& from, const std::string& to, int64_t count, int line) {
  if (count == 0) return s;
  std::string out;
  // Worst case: every code point (or every match) replaced; check that bound
  // before building, so that a large `to` cannot blow up the result.
  const size_t pieces = from.empty() ? s.size() + 1 : s.size() / from.size();
  if (to.size() > from.size() && pieces > 0)
    check_size(line, s.size() + std::min<uint64_t>(pieces, count < 0 ? UINT64_MAX : uint64_t(count)) * (to.size() - from.size()),
               "the result of replace()");
  charge_steps(line, int64_t(s.size() / 64));
  int64_t left = count < 0 ? INT64_MAX : count;
  if (from.empty()) {  // inserted between code points (and at both ends)
    for (const std::string& c : chars_of(s, line)) {
      if (left > 0) {
        out += to;
        --left;
      }
      out += c;
    }
    if (left > 0) out += to;
    return out;
  }
  size_t pos = 0;
  for (;;) {
    charge_search(line, s.size() - pos, from.size());
    const size_t p = s.find(from, pos);
    if (p == std::string::npos || left == 0) break;
    out.append(s, pos, p - pos);
    out += to;
    pos = p + from.size();
    --left;
  }
  out.append(s, pos);
  return out;
}

Value string_method(const std::string& s, const std::string& name, int line) {
  auto bound = [&](std::function<Value(const CallArgs&)> f) { return Value(make_fn(name, std::move(f))); };
  if (name == "length") return Value(int64_t(chars_of(s, line).size()));
  if (name == "upper") return bound([s](const CallArgs&) { return Value(ascii_upper(s)); });
  if (name == "lower") return bound([s](const CallArgs&) { return Value(ascii_lower(s)); });
  if (name == "title") return bound([s](const CallArgs&) { return Value(title_case(s)); });
  if (name == "capitalize") return bound([s](const CallArgs&) { return Value(capitalize(s)); });
  if (name == "strip" || name == "lstrip" || name == "rstrip") {
    const bool left = name != "rstrip", right = name != "lstrip";
    return bound([s, left, right](const CallArgs& a) { return Value(strip_chars(s, a.get(0, "chars"), left, right, a.line)); });
  }
  if (name == "startswith" || name == "endswith") {
    const bool start = name == "startswith";
    return bound([s, start, name](const CallArgs& a) {
      const Value* p = a.get(0, "prefix");
      auto test = [&](const Value& x) {
        if (!x.is_string()) runtime_error(a.line, fmt::format("{}() arguments must be strings", name));
        const std::string& t = x.str();
        return t.size() <= s.size() && (start ? s.compare(0, t.size(), t) == 0 : s.compare(s.size() - t.size(), t.size(), t) == 0);
      };
      if (!p) runtime_error(a.line, fmt::format("{}() needs an argument", name));
      if (p->is_array()) {
        for (const Value& x : *p->arr())
          if (test(x)) return Value(true);
        return Value(false);
      }
      return Value(test(*p));
    });
  }
  if (name == "split" || name == "rsplit") {
    const bool right = name == "rsplit";
    return bound([s, right](const CallArgs& a) {
      const Value* sep = a.get(0, "sep");
      const int64_t maxsplit = int_arg(a.get(1, "maxsplit"), -1, "maxsplit", a.line);
      if (!sep || sep->is_none()) {
        if (!right || maxsplit < 0) return Value::array(split_whitespace(s, maxsplit));
        // rsplit on whitespace with a limit: split the reversed words.
        Array words = split_whitespace(s, -1);
        if (int64_t(words.size()) <= maxsplit + 1) return Value::array(std::move(words));
        const size_t keep = words.size() - size_t(maxsplit);
        // The head keeps its original inner whitespace: cut s after the keep-th word.
        size_t i = 0, seen = 0;
        for (;;) {
          while (size_t n = js_space_at(s, i)) i += n;
          while (i < s.size() && !js_space_at(s, i)) ++i;
          if (++seen == keep) break;
        }
        Array out;
        out.emplace_back(js_trim(s.substr(0, i), true, false));
        for (size_t w = keep; w < words.size(); ++w) out.push_back(words[w]);
        return Value::array(std::move(out));
      }
      return Value::array(split_sep(s, want_string(sep, "split() separator", a.line), maxsplit, right, a.line));
    });
  }
  if (name == "replace") {
    return bound([s](const CallArgs& a) {
      const std::string& from = want_string(a.get(0, "old"), "replace() old", a.line);
      const std::string& to = want_string(a.get(1, "new"), "replace() new", a.line);
      return Value(replace_all(s, from, to, int_arg(a.get(2, "count"), -1, "replace() count", a.line), a.line));
    });
  }
  (void)line;
  return Value();
}

Array items_of(const Object& o, int line) {
  charge_steps(line, int64_t(o.items.size()));
  Array out;
  for (const auto& [k, v] : o.items) out.push_back(Value::array({Value(k), v}));
  return out;
}

// Ordering used by sort and dictsort: numbers (and booleans) numerically, strings
// bytewise (ASCII-lowercased unless case_sensitive); other mixes are errors.
int compare_values(const Value& a, const Value& b, bool case_sensitive, int line) {
  if (a.is_none() && b.is_none()) return 0;
  if (a.is_undefined() && b.is_undefined()) return 0;
  auto num = [](const Value& v) { return v.is_number() || v.is_bool(); };
  if (num(a) && num(b)) {
    const double x = a.is_bool() ? a.as_bool() : a.as_number(), y = b.is_bool() ? b.as_bool() : b.as_number();
    return x < y ? -1 : x > y ? 1 : 0;
  }
  if (a.is_string() && b.is_string()) {
    const std::string x = case_sensitive ? a.str() : ascii_lower(a.str());
    const std::string y = case_sensitive ? b.str() : ascii_lower(b.str());
    return x < y ? -1 : x > y ? 1 : 0;
  }
  runtime_error(line, fmt::format("cannot compare a {} with a {}", a.type_name(), b.type_name()));
}

Value dictsort(const Object& o, const CallArgs* args, int line) {
  const bool cs = args ? bool_arg(args->get(0, "case_sensitive"), false, "case_sensitive", line) : false;
  const Value* by_v = args ? args->get(1, "by") : nullptr;
  const std::string by = by_v ? want_string(by_v, "dictsort by", line) : "key";
  if (by != "key" && by != "value") runtime_error(line, "dictsort: by must be 'key' or 'value'");
  const bool reverse = args ? bool_arg(args->get(2, "reverse"), false, "reverse", line) : false;
  Array items = items_of(o, line);
  const size_t idx = by == "key" ? 0 : 1;
  std::stable_sort(items.begin(), items.end(), [&](const Value& a, const Value& b) {
    const int c = compare_values((*a.arr())[idx], (*b.arr())[idx], cs, line);
    return reverse ? c > 0 : c < 0;
  });
  return Value::array(std::move(items));
}

Value dict_method(const ObjectPtr& o, const std::string& name) {
  if (name == "get")
    return Value(make_fn(name, [o](const CallArgs& a) {
      const Value* k = a.get(0, "key");
      if (!k || !k->is_string()) runtime_error(a.line, "get(): the key must be a string");
      if (const Value* v = o->find(k->str())) return *v;
      const Value* d = a.get(1, "default");
      return d ? *d : Value(None{});
    }));
  if (name == "items") return Value(make_fn(name, [o](const CallArgs& a) { return Value::array(items_of(*o, a.line)); }));
  if (name == "keys")
    return Value(make_fn(name, [o](const CallArgs&) {
      Array a;
      for (const auto& kv : o->items) a.emplace_back(kv.first);
      return Value::array(std::move(a));
    }));
  if (name == "values")
    return Value(make_fn(name, [o](const CallArgs&) {
      Array a;
      for (const auto& kv : o->items) a.push_back(kv.second);
      return Value::array(std::move(a));
    }));
  if (name == "dictsort") return Value(make_fn(name, [o](const CallArgs& a) { return dictsort(*o, &a, a.line); }));
  return Value();
}

// Dotted attribute path ("a.b", "items.0") into mappings and lists.
Value attribute_path(const Value& item, const std::string& path) {
  Value v = item;
  size_t start = 0;
  for (;;) {
    const size_t dot = path.find('.', start);
    const std::string part = path.substr(start, dot == std::string::npos ? std::string::npos : dot - start);
    if (v.is_object()) {
      const Value* x = v.obj()->find(part);
      v = x ? *x : Value();
    } else if (v.is_array()) {
      char* end = nullptr;
      const long idx = std::strtol(part.c_str(), &end, 10);
      if (part.empty() || *end || idx < 0 || size_t(idx) >= v.arr()->size()) return Value();
      v = (*v.arr())[idx];
    } else {
      return Value();
    }
    if (dot == std::string::npos) return v;
    start = dot + 1;
  }
}

// Python-style slice indices over n elements.
std::vector<size_t> slice_indices(size_t n, const Value& start_v, const Value& stop_v, const Value& step_v, int line) {
  auto opt = [&](const Value& v, const char* what) -> std::optional<int64_t> {
    if (v.is_undefined() || v.is_none()) return std::nullopt;
    if (!v.is_int()) runtime_error(line, fmt::format("slice {} must be an integer", what));
    return v.as_int();
  };
  const int64_t len = int64_t(n);
  const int64_t step = opt(step_v, "step").value_or(1);
  if (step == 0) runtime_error(line, "slice step cannot be zero");
  auto start = opt(start_v, "start"), stop = opt(stop_v, "stop");
  int64_t b, e;
  if (step > 0) {
    b = !start ? 0 : *start < 0 ? std::max<int64_t>(len + *start, 0) : std::min(*start, len);
    e = !stop ? len : *stop < 0 ? std::max<int64_t>(len + *stop, 0) : std::min(*stop, len);
  } else {
    b = !start ? len - 1 : *start < 0 ? std::max<int64_t>(len + *start, -1) : std::min(*start, len - 1);
    e = !stop ? -1 : *stop < 0 ? std::max<int64_t>(len + *stop, -1) : std::min(*stop, len - 1);
  }
  // b and e lie in [-1, len]; stepping stops before i + step could overflow.
  std::vector<size_t> idx;
  for (int64_t i = b; step > 0 ? i < e : i > e;) {
    idx.push_back(size_t(i));
    if (step > 0 ? e - i <= step : (i - e) + step <= 0) break;
    i += step;
  }
  charge_steps(line, int64_t(idx.size()));
  return idx;
}

Value js_parse_int(const std::string& s, bool as_float, Value fallback) {
  const std::string t = js_trim(s, true, false);
  char* end = nullptr;
  if (as_float) {
    const double d = std::strtod(t.c_str(), &end);
    if (end == t.c_str() || t.find_first_of("xX") != std::string::npos) return fallback;
    return Value(d);
  }
  const long long v = std::strtoll(t.c_str(), &end, 10);
  if (end == t.c_str()) return fallback;
  return Value(int64_t(v));
}

JsonStyle json_style(const CallArgs* args, int line) {
  JsonStyle st;
  if (!args) return st;
  if (const Value* v = args->kwarg("indent")) {
    const int64_t indent = int_arg(v, -1, "tojson indent", line);
    if (indent > 1024) runtime_error(line, "tojson indent must be at most 1024");
    st.indent = int(std::max<int64_t>(indent, -1));
  }
  st.ensure_ascii = bool_arg(args->kwarg("ensure_ascii"), false, "tojson ensure_ascii", line);
  st.sort_keys = bool_arg(args->kwarg("sort_keys"), false, "tojson sort_keys", line);
  if (const Value* sep = args->kwarg("separators"); sep && !sep->is_none()) {
    if (!sep->is_array() || sep->arr()->size() != 2 || !(*sep->arr())[0].is_string() || !(*sep->arr())[1].is_string())
      runtime_error(line, "tojson separators must be a pair of strings");
    st.item_sep = (*sep->arr())[0].str();
    st.key_sep = (*sep->arr())[1].str();
    if (st.item_sep.empty() || st.key_sep.empty()) runtime_error(line, "tojson: empty separators are not supported");
  }
  return st;
}

}  // namespace

Value get_member(const Value& obj, const Value& key, int line) {
  if (obj.is_object()) {
    if (!key.is_string()) runtime_error(line, fmt::format("cannot index a {} with a {}", obj.type_name(), key.type_name()));
    if (const Value* v = obj.obj()->find(key.str())) return *v;
    return obj.is_mapping() ? dict_method(obj.obj(), key.str()) : Value();
  }
  if (obj.is_array() || obj.is_string()) {
    if (key.is_int()) {
      int64_t i = key.as_int();
      if (obj.is_array()) {
        const Array& a = *obj.arr();
        if (i < 0) i += int64_t(a.size());
        return i >= 0 && i < int64_t(a.size()) ? a[i] : Value();
      }
      std::vector<std::string> cs = chars_of(obj.str(), line);
      if (i < 0) i += int64_t(cs.size());
      return i >= 0 && i < int64_t(cs.size()) ? Value(cs[i]) : Value();
    }
    if (key.is_string()) {
      if (obj.is_array()) return key.str() == "length" ? Value(int64_t(obj.arr()->size())) : Value();
      return string_method(obj.str(), key.str(), line);
    }
    runtime_error(line, fmt::format("cannot index a {} with a {}", obj.type_name(), key.type_name()));
  }
  if (!key.is_string()) runtime_error(line, fmt::format("cannot index a {} with a {}", obj.type_name(), key.type_name()));
  return Value();
}

Value get_slice(const Value& obj, const Value& start, const Value& stop, const Value& step, int line) {
  if (obj.is_array()) {
    Array out;
    for (size_t i : slice_indices(obj.arr()->size(), start, stop, step, line)) out.push_back((*obj.arr())[i]);
    return Value::array(std::move(out));
  }
  if (obj.is_string()) {
    const std::vector<std::string> cs = chars_of(obj.str(), line);
    std::string out;
    for (size_t i : slice_indices(cs.size(), start, stop, step, line)) out += cs[i];
    return Value(std::move(out));
  }
  runtime_error(line, fmt::format("cannot slice a {}", obj.type_name()));
}

Value apply_filter(const std::string& name, const Value& v, const CallArgs* args, int line) {
  auto arg = [&](size_t i, const char* kw) -> const Value* { return args ? args->get(i, kw) : nullptr; };
  auto bad_type = [&]() -> Value {
    runtime_error(line, fmt::format("filter '{}' cannot be applied to a {}", name, v.type_name()));
  };
  if (name == "safe") return v;
  if (name == "tojson") return Value(to_json(v, json_style(args, line), line));
  if (name == "default" || name == "d") {
    const Value* d = arg(0, "default_value");
    const bool boolean = bool_arg(arg(1, "boolean"), false, "default boolean", line);
    if (v.is_undefined() || (boolean && !v.truthy())) return d ? *d : Value("");
    return v;
  }
  if (name == "length" || name == "count") {
    if (v.is_array()) return Value(int64_t(v.arr()->size()));
    if (v.is_string()) return Value(int64_t(chars_of(v.str(), line).size()));
    if (v.is_mapping()) return Value(int64_t(v.obj()->items.size()));
    return bad_type();
  }
  if (name == "string") {
    if (v.is_none() || v.is_undefined() || v.is_function()) return bad_type();
    return Value(v.to_string());
  }
  if (name == "join") {
    const Value* sep_v = arg(0, "d");
    const std::string sep = sep_v ? want_string(sep_v, "join separator", line) : "";
    std::vector<std::string> parts;
    if (v.is_string()) parts = chars_of(v.str(), line);
    else if (v.is_array())
      for (const Value& x : *v.arr()) parts.push_back(x.is_none() || x.is_undefined() ? "" : x.concat_string());
    else return bad_type();
    size_t total = parts.empty() ? 0 : sep.size() * (parts.size() - 1);
    for (const std::string& p : parts) total += p.size();
    charge_steps(line, int64_t(parts.size()));
    charge_bytes(line, total, "the result of join");
    std::string out;
    out.reserve(total);
    for (size_t i = 0; i < parts.size(); ++i) {
      if (i) out += sep;
      out += parts[i];
    }
    return Value(std::move(out));
  }
  if (v.is_string()) {
    const std::string& s = v.str();
    if (name == "trim") return Value(strip_chars(s, arg(0, "chars"), true, true, line));
    if (name == "lower") return Value(ascii_lower(s));
    if (name == "upper") return Value(ascii_upper(s));
    if (name == "title") return Value(title_case(s));
    if (name == "capitalize") return Value(capitalize(s));
    if (name == "first" || name == "last") {
      const auto cs = chars_of(s, line);
      return cs.empty() ? Value() : Value(name == "first" ? cs.front() : cs.back());
    }
    if (name == "replace") {
      const std::string& from = want_string(arg(0, "old"), "replace old", line);
      const std::string& to = want_string(arg(1, "new"), "replace new", line);
      return Value(replace_all(s, from, to, int_arg(arg(2, "count"), -1, "replace count", line), line));
    }
    if (name == "indent") {
      const Value* w = arg(0, "width");
      std::string pad;
      if (w && w->is_string()) {
        pad = w->str();
      } else {
        const int64_t width = int_arg(w, 4, "indent width", line);
        if (width < 0 || width > 1024) runtime_error(line, "indent width must be between 0 and 1024");
        pad.assign(size_t(width), ' ');
      }
      const size_t lines = size_t(std::count(s.begin(), s.end(), '\n')) + 1;
      check_size(line, s.size() + lines * pad.size(), "the result of indent");
      const bool first = arg(1, "first") ? arg(1, "first")->truthy() : false;
      const bool blank = arg(2, "blank") ? arg(2, "blank")->truthy() : false;
      std::string out;
      size_t start = 0;
      for (bool first_line = true;; first_line = false) {
        const size_t nl = s.find('\n', start);
        const std::string ln = s.substr(start, nl == std::string::npos ? std::string::npos : nl - start);
        if (!first_line) out += '\n';
        if ((first || !first_line) && (blank || !ln.empty())) out += pad;
        out += ln;
        if (nl == std::string::npos) break;
        start = nl + 1;
      }
      return Value(std::move(out));
    }
    if (name == "int") return js_parse_int(s, false, arg(0, "default") ? *arg(0, "default") : Value(0));
    if (name == "float") return js_parse_int(s, true, arg(0, "default") ? *arg(0, "default") : Value(0.0));
    if (name == "list") return Value::array([&] { Array a; for (auto& c : chars_of(s, line)) a.emplace_back(c); return a; }());
  } else if (v.is_array()) {
    const Array& a = *v.arr();
    if (name == "list") return v;
    charge_items(line, a);
    if (name == "first") return a.empty() ? Value() : a.front();
    if (name == "last") return a.empty() ? Value() : a.back();
    if (name == "reverse") return Value::array(Array(a.rbegin(), a.rend()));
    if (name == "unique") {
      Array out;
      for (const Value& x : a) {
        charge_steps(line, int64_t(out.size()));
        if (std::none_of(out.begin(), out.end(), [&](const Value& y) { return strict_equals(x, y); })) out.push_back(x);
      }
      return Value::array(std::move(out));
    }
    if (name == "sort") {
      const bool reverse = bool_arg(arg(0, "reverse"), false, "sort reverse", line);
      const bool cs = bool_arg(arg(1, "case_sensitive"), false, "sort case_sensitive", line);
      const Value* attr = arg(2, "attribute");
      std::string path;
      if (attr && attr->is_int()) path = std::to_string(attr->as_int());
      else if (attr && attr->is_string()) path = attr->str();
      else if (attr && !attr->is_none()) runtime_error(line, "sort attribute must be a string or an integer");
      auto key = [&](const Value& x) { return path.empty() ? x : attribute_path(x, path); };
      Array out = a;
      charge_steps(line, int64_t(a.size()) * int64_t(std::bit_width(a.size())));
      std::stable_sort(out.begin(), out.end(), [&](const Value& x, const Value& y) {
        const int c = compare_values(key(x), key(y), cs, line);
        return reverse ? c > 0 : c < 0;
      });
      return Value::array(std::move(out));
    }
    if (name == "map") {
      const Value* attr = args ? args->kwarg("attribute") : nullptr;
      if (!attr) runtime_error(line, "filter 'map' is supported only with attribute=...");
      const std::string& path = want_string(attr, "map attribute", line);
      const Value* dflt = args->kwarg("default");
      Array out;
      for (const Value& x : a) {
        if (!x.is_object()) runtime_error(line, "map(attribute=...) needs a list of mappings");
        Value r = attribute_path(x, path);
        out.push_back(r.is_undefined() && dflt ? *dflt : r);
      }
      return Value::array(std::move(out));
    }
    if (name == "selectattr" || name == "rejectattr") {
      const bool select = name == "selectattr";
      const std::string& attr = want_string(arg(0, "attr"), "selectattr attribute", line);
      const Value* test = arg(1, "test");
      const Value* cmp = arg(2, "value");
      Array out;
      for (const Value& x : a) {
        if (!x.is_object()) runtime_error(line, fmt::format("'{}' needs a list of mappings", name));
        const Value* field = x.obj()->find(attr);
        bool r = false;
        if (field) r = test ? apply_test(want_string(test, "selectattr test", line), *field, line, cmp) : field->truthy();
        if (r == select) out.push_back(x);
      }
      return Value::array(std::move(out));
    }
  } else if (v.is_number()) {
    if (name == "abs") {
      if (v.is_float()) return Value(std::fabs(v.as_float()));
      if (v.as_int() == INT64_MIN) return Value(-double(INT64_MIN));  // |INT64_MIN| is not an int64
      return Value(int64_t(std::llabs(v.as_int())));
    }
    if (name == "int") {
      const double d = std::floor(v.as_number());
      if (v.is_int()) return v;
      if (!(d >= -9223372036854775808.0 && d < 9223372036854775808.0))
        runtime_error(line, fmt::format("filter 'int': {} does not fit a 64-bit integer", js_number(v.as_float())));
      return Value(int64_t(d));
    }
    if (name == "float") return Value(v.as_number());
  } else if (v.is_bool()) {
    if (name == "bool") return v;
    if (name == "int") return Value(int64_t(v.as_bool()));
    if (name == "float") return Value(v.as_bool() ? 1.0 : 0.0);
  } else if (v.is_mapping()) {
    if (name == "items") return Value::array(items_of(*v.obj(), line));
    if (name == "dictsort") return dictsort(*v.obj(), args, line);
    if (name == "keys" || name == "values") {
      Scope unused;
      return dict_method(v.obj(), name).fn()->call(CallArgs{}, unused);
    }
  }
  static const char* kKnown[] = {"trim", "lower", "upper", "title", "capitalize", "first", "last", "replace", "indent",
                                 "int", "float", "list", "reverse", "unique", "sort", "map", "selectattr",
                                 "rejectattr", "abs", "bool", "items", "dictsort", "keys", "values"};
  for (const char* k : kKnown)
    if (name == k) return bad_type();
  runtime_error(line, fmt::format("unsupported filter '{}'", name));
}

bool apply_test(const std::string& name, const Value& v, int line, const Value* arg) {
  if (name == "defined") return !v.is_undefined();
  if (name == "undefined") return v.is_undefined();
  if (name == "none") return v.is_none();
  if (name == "string") return v.is_string();
  if (name == "number") return v.is_number();
  if (name == "integer") return v.is_int();
  if (name == "float") return v.is_float();
  if (name == "boolean") return v.is_bool();
  if (name == "mapping") return v.is_mapping();
  if (name == "iterable") return v.is_array() || v.is_string();
  if (name == "sequence") return v.is_array() || v.is_mapping() || v.is_string();
  if (name == "callable") return v.is_function();
  if (name == "true") return v.is_bool() && v.as_bool();
  if (name == "false") return v.is_bool() && !v.as_bool();
  if (name == "odd" || name == "even") {
    if (!v.is_int()) runtime_error(line, fmt::format("test '{}' needs an integer, got a {}", name, v.type_name()));
    return (v.as_int() % 2 != 0) == (name == "odd");
  }
  if (name == "lower") return v.is_string() && v.str() == ascii_lower(v.str());
  if (name == "upper") return v.is_string() && v.str() == ascii_upper(v.str());
  if (name == "equalto" || name == "eq" || name == "==") return arg && strict_equals(v, *arg);
  runtime_error(line, fmt::format("unsupported test '{}'", name));
}

}  // namespace r1::jinja
