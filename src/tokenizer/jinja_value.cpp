// Jinja runtime values: printing, truthiness, equality, JSON in and out.
#include "tokenizer/jinja_value.hpp"

#include <algorithm>
#include <charconv>
#include <cmath>
#include <cstdlib>

#include "base/error.hpp"
#include "tokenizer/jinja_budget.hpp"

namespace r1::jinja {

Value Value::array(Array items) { return Value(std::make_shared<Array>(std::move(items))); }

namespace {

// Containers whose last reference is being dropped; drained by the outermost
// ~Value of this thread, so nested containers are freed one after another.
struct Graveyard {
  std::vector<std::shared_ptr<const void>> pending;
  bool draining = false;
};
thread_local Graveyard tl_graveyard;

void release(std::shared_ptr<const void> p) noexcept {
  Graveyard& g = tl_graveyard;
  try {
    g.pending.push_back(std::move(p));
  } catch (...) {
    return;  // out of memory: p is freed here, recursively
  }
  if (g.draining) return;
  g.draining = true;
  while (!g.pending.empty()) {
    std::shared_ptr<const void> last = std::move(g.pending.back());
    g.pending.pop_back();
    last.reset();  // may push this container's own containers
  }
  g.draining = false;
}

}  // namespace

Value::~Value() {
  if (ArrayPtr* a = std::get_if<ArrayPtr>(&v_)) {
    if (a->use_count() == 1 && !(*a)->empty()) release(std::move(*a));
  } else if (ObjectPtr* o = std::get_if<ObjectPtr>(&v_)) {
    if (o->use_count() == 1 && !(*o)->items.empty()) release(std::move(*o));
  }
}

bool Value::is_mapping() const { return is_object() && !obj()->is_namespace; }
bool Value::is_namespace() const { return is_object() && obj()->is_namespace; }

bool Value::truthy() const {
  switch (type()) {
    case Type::undefined:
    case Type::none: return false;
    case Type::boolean: return as_bool();
    case Type::integer: return as_int() != 0;
    case Type::floating: return as_float() != 0 && !std::isnan(as_float());
    case Type::string: return !str().empty();
    case Type::array: return !arr()->empty();
    case Type::object: return obj()->is_namespace || !obj()->items.empty();
    case Type::function: return true;
  }
  return false;
}

const char* Value::type_name() const {
  switch (type()) {
    case Type::undefined: return "undefined";
    case Type::none: return "none";
    case Type::boolean: return "boolean";
    case Type::integer: return "integer";
    case Type::floating: return "float";
    case Type::string: return "string";
    case Type::array: return "list";
    case Type::object: return is_namespace() ? "namespace" : "mapping";
    case Type::function: return "function";
  }
  return "?";
}

std::string js_number(double d) {
  if (std::isnan(d)) return "NaN";
  if (std::isinf(d)) return d > 0 ? "Infinity" : "-Infinity";
  if (d == 0) return "0";
  char buf[64];
  auto res = std::to_chars(buf, buf + sizeof buf, d, std::chars_format::scientific);
  std::string sci(buf, res.ptr);  // [-]d[.ddd]e[+-]xx
  std::string sign;
  if (sci[0] == '-') {
    sign = "-";
    sci.erase(0, 1);
  }
  const size_t e = sci.find('e');
  std::string digits = sci.substr(0, e);
  digits.erase(std::remove(digits.begin(), digits.end(), '.'), digits.end());
  const int exp10 = std::atoi(sci.c_str() + e + 1);
  const int k = int(digits.size()), n = exp10 + 1;  // value = 0.digits * 10^n
  std::string out;
  if (k <= n && n <= 21) {
    out = digits + std::string(n - k, '0');
  } else if (0 < n && n <= 21) {
    out = digits.substr(0, n) + "." + digits.substr(n);
  } else if (-6 < n && n <= 0) {
    out = "0." + std::string(-n, '0') + digits;
  } else {
    out = digits.substr(0, 1);
    if (k > 1) out += "." + digits.substr(1);
    out += (n - 1 >= 0 ? "e+" : "e-") + std::to_string(std::abs(n - 1));
  }
  return sign + out;
}

std::string Value::to_string() const {
  switch (type()) {
    case Type::undefined:
    case Type::none: return "";
    case Type::boolean: return as_bool() ? "true" : "false";
    case Type::integer: return std::to_string(as_int());
    case Type::floating: {
      const double d = as_float();
      if (d == 0 && std::signbit(d)) return "-0.0";
      if (std::isfinite(d) && d == std::floor(d) && std::fabs(d) < 1e21) return js_number(d) + ".0";
      return js_number(d);
    }
    case Type::string: return str();
    case Type::array:
    case Type::object: {
      JsonStyle s;
      s.undefined_as_null = false;
      return to_json(*this, s, 0);
    }
    case Type::function: return "<function " + fn()->name + ">";
  }
  return "";
}

std::string Value::concat_string() const {
  switch (type()) {
    case Type::undefined: return "undefined";
    case Type::none: return "null";
    case Type::floating: return js_number(as_float());
    default: return to_string();
  }
}

const Value* Object::find(std::string_view key) const {
  for (const auto& [k, v] : items)
    if (k == key) return &v;
  return nullptr;
}

void Object::set(const std::string& key, Value v) {
  for (auto& [k, old] : items)
    if (k == key) {
      old = std::move(v);
      return;
    }
  items.emplace_back(key, std::move(v));
}

const Value* CallArgs::kwarg(std::string_view name) const {
  for (const auto& [k, v] : kw)
    if (k == name) return &v;
  return nullptr;
}

const Value* CallArgs::get(size_t i, std::string_view name) const {
  if (i < pos.size()) return &pos[i];
  return kwarg(name);
}

namespace {

Value from_json_at(const nlohmann::ordered_json& j, int depth) {
  using T = nlohmann::ordered_json::value_t;
  if (depth > kMaxValueDepth)
    fail("chat template variables nest deeper than {} levels of lists and objects", kMaxValueDepth);
  switch (j.type()) {
    case T::null: return Value(None{});
    case T::boolean: return Value(j.get<bool>());
    case T::number_integer: return Value(j.get<int64_t>());
    case T::number_unsigned: {
      const uint64_t u = j.get<uint64_t>();
      return u <= uint64_t(INT64_MAX) ? Value(int64_t(u)) : Value(double(u));
    }
    case T::number_float: {
      const double d = j.get<double>();
      // JavaScript has one number type: an integral value is an integer there.
      if (std::isfinite(d) && d == std::floor(d) && std::fabs(d) < 9007199254740992.0) return Value(int64_t(d));
      return Value(d);
    }
    case T::string: return Value(j.get<std::string>());
    case T::array: {
      Array a;
      a.reserve(j.size());
      for (const auto& x : j) a.push_back(from_json_at(x, depth + 1));
      return Value::array(std::move(a));
    }
    case T::object: {
      auto o = std::make_shared<Object>();
      for (const auto& [k, v] : j.items()) o->set(k, from_json_at(v, depth + 1));
      return Value(o);
    }
    default: fail("chat template: unsupported JSON value (binary)");
  }
}

}  // namespace

Value from_json(const nlohmann::ordered_json& j) { return from_json_at(j, 0); }

namespace {

void append_hex4(std::string& out, unsigned u) {
  static const char* hex = "0123456789abcdef";
  out += "\\u";
  for (int s = 12; s >= 0; s -= 4) out += hex[(u >> s) & 15];
}

// Decodes one UTF-8 sequence at s[i] (input is valid UTF-8: it came from JSON or
// the template); returns the code point and advances i.
uint32_t decode_utf8(std::string_view s, size_t& i) {
  const unsigned char c = s[i];
  int len = c < 0x80 ? 1 : (c >> 5) == 6 ? 2 : (c >> 4) == 14 ? 3 : (c >> 3) == 30 ? 4 : 1;
  if (i + len > s.size()) len = 1;
  uint32_t cp = len == 1 ? c : len == 2 ? (c & 0x1F) : len == 3 ? (c & 0x0F) : (c & 0x07);
  for (int k = 1; k < len; ++k) cp = (cp << 6) | (static_cast<unsigned char>(s[i + k]) & 0x3F);
  i += len;
  return cp;
}

// JSON.stringify of a string (+ the ensure_ascii \uXXXX escaping of code units >= 0x7f).
std::string json_string(const std::string& s, bool ensure_ascii) {
  std::string out = "\"";
  for (size_t i = 0; i < s.size();) {
    const unsigned char c = s[i];
    if (c < 0x80) {
      ++i;
      switch (c) {
        case '"': out += "\\\""; break;
        case '\\': out += "\\\\"; break;
        case '\b': out += "\\b"; break;
        case '\f': out += "\\f"; break;
        case '\n': out += "\\n"; break;
        case '\r': out += "\\r"; break;
        case '\t': out += "\\t"; break;
        default:
          if (c < 0x20 || (ensure_ascii && c == 0x7f)) append_hex4(out, c);
          else out += char(c);
      }
      continue;
    }
    const size_t start = i;
    const uint32_t cp = decode_utf8(s, i);
    if (!ensure_ascii) {
      out.append(s, start, i - start);
    } else if (cp >= 0x10000) {  // UTF-16 surrogate pair, each escaped
      append_hex4(out, 0xD800 + ((cp - 0x10000) >> 10));
      append_hex4(out, 0xDC00 + ((cp - 0x10000) & 0x3FF));
    } else {
      append_hex4(out, cp);
    }
  }
  return out + "\"";
}

void json_value(const Value& v, const JsonStyle& st, int depth, int line, std::string& out) {
  const std::string item_sep = !st.item_sep.empty() ? st.item_sep : st.indent > 0 ? "," : ", ";
  const std::string key_sep = !st.key_sep.empty() ? st.key_sep : ": ";
  switch (v.type()) {
    case Value::Type::none: out += "null"; return;
    case Value::Type::undefined: out += st.undefined_as_null ? "null" : "undefined"; return;
    case Value::Type::boolean: out += v.as_bool() ? "true" : "false"; return;
    case Value::Type::integer: out += std::to_string(v.as_int()); return;
    case Value::Type::floating:
      out += std::isfinite(v.as_float()) ? js_number(v.as_float()) : "null";
      return;
    case Value::Type::string: out += json_string(v.str(), st.ensure_ascii); return;
    case Value::Type::function: fail("chat template line {}: cannot convert a function to JSON", line);
    case Value::Type::array:
    case Value::Type::object: break;
  }
  if (depth >= kMaxValueDepth)
    fail("chat template line {}: a value nests deeper than {} levels (a namespace that contains itself?)", line,
         kMaxValueDepth);
  check_size(line, out.size(), "the JSON text");
  charge_steps(line, 1);
  const bool indent = st.indent > 0;
  const std::string pad(indent ? size_t(st.indent) : 0, ' ');
  std::string base = "\n", child = "\n";
  for (int d = 0; d < depth; ++d) base += pad;
  child = base + pad;
  if (v.is_array()) {
    const Array& a = *v.arr();
    out += '[';
    for (size_t i = 0; i < a.size(); ++i) {
      if (i) out += item_sep;
      if (indent) out += child;
      json_value(a[i], st, depth + 1, line, out);
    }
    if (indent && !a.empty()) out += base;
    out += ']';
    return;
  }
  std::vector<const std::pair<std::string, Value>*> items;
  for (const auto& kv : v.obj()->items) items.push_back(&kv);
  if (st.sort_keys)
    std::stable_sort(items.begin(), items.end(), [](auto* a, auto* b) { return a->first < b->first; });
  out += '{';
  for (size_t i = 0; i < items.size(); ++i) {
    if (i) out += item_sep;
    if (indent) out += child;
    out += json_string(items[i]->first, st.ensure_ascii);
    out += key_sep;
    json_value(items[i]->second, st, depth + 1, line, out);
  }
  if (indent && !items.empty()) out += base;
  out += '}';
}

// JavaScript Number(string): trims whitespace; "" -> 0; otherwise a full decimal
// literal (or NaN).
double js_to_number(const std::string& s) {
  const std::string t = js_trim(s, true, true);
  if (t.empty()) return 0;
  if (t == "Infinity" || t == "+Infinity") return INFINITY;
  if (t == "-Infinity") return -INFINITY;
  char* end = nullptr;
  const double d = std::strtod(t.c_str(), &end);
  if (end != t.c_str() + t.size() || t.find_first_of("xXnNiI") != std::string::npos) return NAN;
  return d;
}

double loose_number(const Value& v) {
  if (v.is_bool()) return v.as_bool() ? 1 : 0;
  if (v.is_number()) return v.as_number();
  return js_to_number(v.str());
}

}  // namespace

std::string to_json(const Value& v, const JsonStyle& style, int line) {
  std::string out;
  json_value(v, style, 0, line, out);
  return out;
}

bool strict_equals(const Value& a, const Value& b) {
  if (a.is_number() && b.is_number()) return a.as_number() == b.as_number();
  if (a.type() != b.type()) return false;
  switch (a.type()) {
    case Value::Type::undefined:
    case Value::Type::none: return true;
    case Value::Type::boolean: return a.as_bool() == b.as_bool();
    case Value::Type::string: return a.str() == b.str();
    case Value::Type::array: return a.arr() == b.arr();
    case Value::Type::object: return a.obj() == b.obj();
    case Value::Type::function: return a.fn() == b.fn();
    default: return false;
  }
}

bool loose_equals(const Value& a, const Value& b) {
  const bool a_nullish = a.is_none() || a.is_undefined(), b_nullish = b.is_none() || b.is_undefined();
  if (a_nullish || b_nullish) return a_nullish && b_nullish;
  auto primitive = [](const Value& v) { return v.is_bool() || v.is_number() || v.is_string(); };
  if (primitive(a) && primitive(b)) {
    if (a.is_string() && b.is_string()) return a.str() == b.str();
    return loose_number(a) == loose_number(b);
  }
  return strict_equals(a, b);
}

std::vector<std::string> utf8_chars(const std::string& s) {
  std::vector<std::string> out;
  for (size_t i = 0; i < s.size();) {
    const size_t start = i;
    decode_utf8(s, i);
    out.emplace_back(s, start, i - start);
  }
  return out;
}

namespace {
bool is_js_space_cp(uint32_t cp) {
  switch (cp) {
    case 0x09: case 0x0A: case 0x0B: case 0x0C: case 0x0D: case 0x20: case 0xA0: case 0x1680:
    case 0x2028: case 0x2029: case 0x202F: case 0x205F: case 0x3000: case 0xFEFF: return true;
    default: return cp >= 0x2000 && cp <= 0x200A;
  }
}
}  // namespace

size_t js_space_at(std::string_view s, size_t pos) {
  if (pos >= s.size()) return 0;
  size_t i = pos;
  const uint32_t cp = decode_utf8(s, i);
  return is_js_space_cp(cp) ? i - pos : 0;
}

size_t js_space_before(std::string_view s, size_t end) {
  for (size_t len = 1; len <= 3 && len <= end; ++len) {
    const unsigned char c = s[end - len];
    if (len > 1 && (c & 0xC0) == 0x80) continue;  // continuation byte: look further back
    return js_space_at(s, end - len) == len ? len : 0;
  }
  return 0;
}

std::string js_trim(std::string_view s, bool left, bool right) {
  size_t b = 0, e = s.size();
  if (left)
    while (size_t n = js_space_at(s, b)) b += n;
  if (right) {
    while (e > b) {
      const size_t n = js_space_before(s, e);
      if (n == 0) break;
      e -= n;
    }
  }
  return std::string(s.substr(b, e - b));
}

}  // namespace r1::jinja
