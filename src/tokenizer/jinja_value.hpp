// Runtime values of the Jinja subset (src/tokenizer/jinja.hpp).
//
// Semantics follow @huggingface/jinja (the renderer transformers.js uses, and the
// oracle our tests compare with): arrays, objects and namespaces are shared by
// reference; none and undefined render as ""; booleans render as "true"/"false";
// floats with an integral value render with ".0"; arrays and objects render as
// JSON with ", " / ": " separators (at most kMaxValueDepth levels deep: deeper
// values, and namespaces that contain themselves, are an error).
#pragma once
#include <cstdint>
#include <functional>
#include <memory>
#include <nlohmann/json.hpp>
#include <string>
#include <utility>
#include <variant>
#include <vector>

namespace r1::jinja {

class Value;
struct Object;
struct Function;
struct Scope;

using Array = std::vector<Value>;
using ArrayPtr = std::shared_ptr<Array>;
using ObjectPtr = std::shared_ptr<Object>;
using FunctionPtr = std::shared_ptr<const Function>;

struct Undefined {};
struct None {};

class Value {
 public:
  enum class Type { undefined, none, boolean, integer, floating, string, array, object, function };

  Value() : v_(Undefined{}) {}
  Value(None) : v_(None{}) {}
  Value(bool b) : v_(b) {}
  Value(int v) : v_(int64_t(v)) {}
  Value(int64_t v) : v_(v) {}
  Value(double v) : v_(v) {}
  Value(std::string s) : v_(std::move(s)) {}
  Value(const char* s) : v_(std::string(s)) {}
  Value(ArrayPtr a) : v_(std::move(a)) {}
  Value(ObjectPtr o) : v_(std::move(o)) {}
  Value(FunctionPtr f) : v_(std::move(f)) {}
  static Value array(Array items = {});
  // Destroying the last reference to a list or mapping frees its elements from a
  // loop, not by recursion, so a deeply nested value cannot overflow the stack.
  ~Value();
  Value(const Value&) = default;
  Value(Value&&) noexcept = default;
  Value& operator=(const Value&) = default;
  Value& operator=(Value&&) noexcept = default;

  Type type() const { return Type(v_.index()); }
  bool is_undefined() const { return type() == Type::undefined; }
  bool is_none() const { return type() == Type::none; }
  bool is_bool() const { return type() == Type::boolean; }
  bool is_int() const { return type() == Type::integer; }
  bool is_float() const { return type() == Type::floating; }
  bool is_number() const { return is_int() || is_float(); }
  bool is_string() const { return type() == Type::string; }
  bool is_array() const { return type() == Type::array; }
  bool is_object() const { return type() == Type::object; }  // mapping or namespace
  bool is_mapping() const;                                   // object, not namespace
  bool is_namespace() const;
  bool is_function() const { return type() == Type::function; }

  bool as_bool() const { return std::get<bool>(v_); }
  int64_t as_int() const { return std::get<int64_t>(v_); }
  double as_float() const { return std::get<double>(v_); }
  double as_number() const { return is_int() ? double(as_int()) : as_float(); }
  const std::string& str() const { return std::get<std::string>(v_); }
  const ArrayPtr& arr() const { return std::get<ArrayPtr>(v_); }
  const ObjectPtr& obj() const { return std::get<ObjectPtr>(v_); }
  const FunctionPtr& fn() const { return std::get<FunctionPtr>(v_); }

  bool truthy() const;
  // Text when printed by {{ }} (none/undefined: "").
  std::string to_string() const;
  // Text in `~` and string `+` (JavaScript conversion: floats without forced ".0").
  std::string concat_string() const;
  const char* type_name() const;

 private:
  std::variant<Undefined, None, bool, int64_t, double, std::string, ArrayPtr, ObjectPtr, FunctionPtr> v_;
};

// Insertion-ordered string-keyed map (objects, namespaces).
struct Object {
  std::vector<std::pair<std::string, Value>> items;
  bool is_namespace = false;

  const Value* find(std::string_view key) const;
  void set(const std::string& key, Value v);
};

// Call arguments: positional, then keyword (in call order).
struct CallArgs {
  std::vector<Value> pos;
  std::vector<std::pair<std::string, Value>> kw;
  int line = 0;
  const Value* kwarg(std::string_view name) const;
  // Positional i, else keyword `name`, else nullptr.
  const Value* get(size_t i, std::string_view name) const;
};

struct Function {
  std::string name;
  std::function<Value(const CallArgs&, Scope& caller)> call;
};

// JSON conversion: ordered_json -> Value (integral floats become integers, as in
// JavaScript), and Value -> JSON text as @huggingface/jinja's tojson writes it.
Value from_json(const nlohmann::ordered_json& j);
struct JsonStyle {
  int indent = -1;                     // < 0: one line
  bool ensure_ascii = false;
  std::string item_sep;                // empty: ", " (or "," when indenting)
  std::string key_sep;                 // empty: ": "
  bool sort_keys = false;
  bool undefined_as_null = true;       // false: "undefined" (the to_string form)
};
std::string to_json(const Value& v, const JsonStyle& style, int line);

// JavaScript Number -> string (shortest round trip; exponent form outside 1e-7..1e21).
std::string js_number(double d);

// Loose (JavaScript ==) and strict (===) equality of the reference implementation.
bool loose_equals(const Value& a, const Value& b);
bool strict_equals(const Value& a, const Value& b);

// UTF-8 helpers: code points <-> string, JavaScript whitespace (\s, trim()).
std::vector<std::string> utf8_chars(const std::string& s);
size_t js_space_at(std::string_view s, size_t pos);       // bytes of a whitespace char at pos, or 0
size_t js_space_before(std::string_view s, size_t end);   // bytes of a whitespace char ending at end, or 0
std::string js_trim(std::string_view s, bool left, bool right);

}  // namespace r1::jinja
