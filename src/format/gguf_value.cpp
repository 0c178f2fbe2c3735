// GGUF metadata values and the ordered key -> value map (see gguf.hpp).
#include <limits>

#include "base/error.hpp"
#include "format/gguf.hpp"

namespace r1::gguf {

std::string_view value_type_name(ValueType t) {
  switch (t) {
    case ValueType::UINT8: return "uint8";
    case ValueType::INT8: return "int8";
    case ValueType::UINT16: return "uint16";
    case ValueType::INT16: return "int16";
    case ValueType::UINT32: return "uint32";
    case ValueType::INT32: return "int32";
    case ValueType::FLOAT32: return "float32";
    case ValueType::BOOL: return "bool";
    case ValueType::STRING: return "string";
    case ValueType::ARRAY: return "array";
    case ValueType::UINT64: return "uint64";
    case ValueType::INT64: return "int64";
    case ValueType::FLOAT64: return "float64";
  }
  return "unknown";
}

// ---- Value ----------------------------------------------------------------

Value Value::from_u32(uint32_t v) {
  Value r;
  r.type = ValueType::UINT32;
  r.u = v;
  return r;
}

Value Value::from_i32(int32_t v) {
  Value r;
  r.type = ValueType::INT32;
  r.i = v;
  return r;
}

Value Value::from_u64(uint64_t v) {
  Value r;
  r.type = ValueType::UINT64;
  r.u = v;
  return r;
}

Value Value::from_f32(float v) {
  Value r;
  r.type = ValueType::FLOAT32;
  r.f = v;
  return r;
}

Value Value::from_bool(bool v) {
  Value r;
  r.type = ValueType::BOOL;
  r.u = v ? 1 : 0;
  return r;
}

Value Value::from_string(std::string v) {
  Value r;
  r.type = ValueType::STRING;
  r.s = std::move(v);
  return r;
}

Value Value::from_strings(const std::vector<std::string>& v) {
  Value r;
  r.type = ValueType::ARRAY;
  r.elem_type = ValueType::STRING;
  r.arr.reserve(v.size());
  for (const auto& s : v) r.arr.push_back(from_string(s));
  return r;
}

Value Value::from_i32s(const std::vector<int32_t>& v) {
  Value r;
  r.type = ValueType::ARRAY;
  r.elem_type = ValueType::INT32;
  r.arr.reserve(v.size());
  for (int32_t x : v) r.arr.push_back(from_i32(x));
  return r;
}

Value Value::from_f32s(const std::vector<float>& v) {
  Value r;
  r.type = ValueType::ARRAY;
  r.elem_type = ValueType::FLOAT32;
  r.arr.reserve(v.size());
  for (float x : v) r.arr.push_back(from_f32(x));
  return r;
}

namespace {

bool is_unsigned(ValueType t) {
  return t == ValueType::UINT8 || t == ValueType::UINT16 || t == ValueType::UINT32 || t == ValueType::UINT64;
}
bool is_signed(ValueType t) {
  return t == ValueType::INT8 || t == ValueType::INT16 || t == ValueType::INT32 || t == ValueType::INT64;
}

}  // namespace

bool Value::is_integer() const { return is_unsigned(type) || is_signed(type); }
bool Value::is_float() const { return type == ValueType::FLOAT32 || type == ValueType::FLOAT64; }

int64_t Value::as_i64(std::string_view what) const {
  if (is_signed(type)) return i;
  if (is_unsigned(type)) {
    if (u > static_cast<uint64_t>(std::numeric_limits<int64_t>::max()))
      fail("{}: value {} does not fit in int64", what, u);
    return static_cast<int64_t>(u);
  }
  fail("{}: expected an integer, found {}", what, value_type_name(type));
}

uint64_t Value::as_u64(std::string_view what) const {
  if (is_unsigned(type)) return u;
  if (is_signed(type)) {
    if (i < 0) fail("{}: value {} is negative, expected an unsigned integer", what, i);
    return static_cast<uint64_t>(i);
  }
  fail("{}: expected an unsigned integer, found {}", what, value_type_name(type));
}

double Value::as_f64(std::string_view what) const {
  if (is_float()) return f;
  if (is_signed(type)) return static_cast<double>(i);
  if (is_unsigned(type)) return static_cast<double>(u);
  fail("{}: expected a number, found {}", what, value_type_name(type));
}

bool Value::as_bool(std::string_view what) const {
  if (type != ValueType::BOOL) fail("{}: expected a bool, found {}", what, value_type_name(type));
  return u != 0;
}

const std::string& Value::as_string(std::string_view what) const {
  if (type != ValueType::STRING) fail("{}: expected a string, found {}", what, value_type_name(type));
  return s;
}

// ---- Metadata -------------------------------------------------------------

void Metadata::set(std::string key, Value v) {
  auto it = index_.find(key);
  if (it != index_.end()) {
    entries_[it->second].second = std::move(v);
    return;
  }
  index_.emplace(key, entries_.size());
  entries_.emplace_back(std::move(key), std::move(v));
}

const Value* Metadata::find(std::string_view key) const {
  auto it = index_.find(std::string(key));
  return it == index_.end() ? nullptr : &entries_[it->second].second;
}

namespace {

const Value& require(const Metadata& m, std::string_view key) {
  const Value* v = m.find(key);
  if (!v) fail("missing metadata key '{}'", key);
  return *v;
}

std::string key_what(std::string_view key) { return fmt::format("metadata key '{}'", key); }

// The array at `key`, or nullptr when absent; throws if the key holds a non-array.
const Value* find_array(const Metadata& m, std::string_view key) {
  const Value* v = m.find(key);
  if (v && v->type != ValueType::ARRAY)
    fail("metadata key '{}': expected an array, found {}", key, value_type_name(v->type));
  return v;
}

}  // namespace

std::string Metadata::get_string(std::string_view key) const { return require(*this, key).as_string(key_what(key)); }

std::string Metadata::get_string_or(std::string_view key, std::string fallback) const {
  const Value* v = find(key);
  return v ? v->as_string(key_what(key)) : std::move(fallback);
}

int64_t Metadata::get_int(std::string_view key) const { return require(*this, key).as_i64(key_what(key)); }

int64_t Metadata::get_int_or(std::string_view key, int64_t fallback) const {
  const Value* v = find(key);
  return v ? v->as_i64(key_what(key)) : fallback;
}

double Metadata::get_float(std::string_view key) const { return require(*this, key).as_f64(key_what(key)); }

double Metadata::get_float_or(std::string_view key, double fallback) const {
  const Value* v = find(key);
  return v ? v->as_f64(key_what(key)) : fallback;
}

bool Metadata::get_bool_or(std::string_view key, bool fallback) const {
  const Value* v = find(key);
  return v ? v->as_bool(key_what(key)) : fallback;
}

std::vector<std::string> Metadata::get_strings(std::string_view key) const {
  std::vector<std::string> out;
  const Value* v = find_array(*this, key);
  if (!v) return out;
  out.reserve(v->arr.size());
  for (size_t k = 0; k < v->arr.size(); ++k)
    out.push_back(v->arr[k].as_string(fmt::format("metadata key '{}' element {}", key, k)));
  return out;
}

std::vector<int64_t> Metadata::get_ints(std::string_view key) const {
  std::vector<int64_t> out;
  const Value* v = find_array(*this, key);
  if (!v) return out;
  out.reserve(v->arr.size());
  for (size_t k = 0; k < v->arr.size(); ++k) {
    const Value& e = v->arr[k];
    if (!e.is_integer()) fail("metadata key '{}' element {}: expected an integer, found {}", key, k, value_type_name(e.type));
    out.push_back(e.as_i64(key_what(key)));
  }
  return out;
}

std::vector<float> Metadata::get_floats(std::string_view key) const {
  std::vector<float> out;
  const Value* v = find_array(*this, key);
  if (!v) return out;
  out.reserve(v->arr.size());
  for (size_t k = 0; k < v->arr.size(); ++k)
    out.push_back(static_cast<float>(v->arr[k].as_f64(fmt::format("metadata key '{}' element {}", key, k))));
  return out;
}

}  // namespace r1::gguf
