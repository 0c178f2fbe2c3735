// Metadata values and typed getters: conversions, range checks, error messages.
#include <limits>

#include "unit/format_gguf_image.hpp"

namespace r1::gguf::test {
namespace {

template <class F>
std::string error_of(F&& f) {
  try {
    f();
  } catch (const r1::Error& e) {
    return e.what();
  }
  return "(no error)";
}

TEST(GgufValue, IntegerConversions) {
  EXPECT_EQ(Value::from_u32(7).as_i64("x"), 7);
  EXPECT_EQ(Value::from_i32(-7).as_i64("x"), -7);
  EXPECT_EQ(Value::from_i32(7).as_u64("x"), 7u);
  EXPECT_EQ(Value::from_u64(1ull << 63).as_u64("x"), 1ull << 63);
  EXPECT_NE(error_of([] { Value::from_u64(1ull << 63).as_i64("big"); }).find("big: value 9223372036854775808 does not fit"),
            std::string::npos);
  EXPECT_NE(error_of([] { Value::from_i32(-1).as_u64("neg"); }).find("neg: value -1 is negative"), std::string::npos);
  EXPECT_TRUE(Value::from_u32(1).is_integer());
  EXPECT_FALSE(Value::from_f32(1).is_integer());
  EXPECT_TRUE(Value::from_f32(1).is_float());
  EXPECT_FALSE(Value::from_bool(true).is_integer());
  EXPECT_THROW(Value::from_bool(true).as_i64("b"), r1::Error);
  EXPECT_THROW(Value::from_f32(1.0f).as_i64("f"), r1::Error);
  EXPECT_THROW(Value::from_string("1").as_u64("s"), r1::Error);
}

TEST(GgufValue, FloatBoolString) {
  EXPECT_EQ(Value::from_f32(0.25f).as_f64("x"), 0.25);
  EXPECT_EQ(Value::from_i32(-3).as_f64("x"), -3.0);  // integers widen to float
  EXPECT_THROW(Value::from_string("x").as_f64("x"), r1::Error);
  EXPECT_TRUE(Value::from_bool(true).as_bool("x"));
  EXPECT_THROW(Value::from_u32(1).as_bool("x"), r1::Error);
  EXPECT_EQ(Value::from_string("hi").as_string("x"), "hi");
  EXPECT_NE(error_of([] { Value::from_u32(1).as_string("name"); }).find("name: expected a string, found uint32"),
            std::string::npos);
}

TEST(GgufValue, MetadataGetters) {
  Metadata m;
  m.set("s", Value::from_string("abc"));
  m.set("i", Value::from_i32(-4));
  m.set("f", Value::from_f32(2.5f));
  m.set("b", Value::from_bool(false));
  m.set("ss", Value::from_strings({"x", "y"}));
  m.set("is", Value::from_i32s({1, -2}));
  m.set("fs", Value::from_f32s({0.5f}));
  m.set("i", Value::from_i32(9));  // replaced in place
  ASSERT_EQ(m.entries().size(), 7u);
  EXPECT_EQ(m.entries()[1].first, "i");
  EXPECT_EQ(m.get_int("i"), 9);

  EXPECT_EQ(m.get_string("s"), "abc");
  EXPECT_EQ(m.get_string_or("nope", "fb"), "fb");
  EXPECT_EQ(m.get_int_or("nope", 3), 3);
  EXPECT_EQ(m.get_float("f"), 2.5);
  EXPECT_EQ(m.get_float("i"), 9.0);
  EXPECT_EQ(m.get_float_or("nope", 1.5), 1.5);
  EXPECT_FALSE(m.get_bool_or("b", true));
  EXPECT_TRUE(m.get_bool_or("nope", true));
  EXPECT_EQ(m.get_strings("ss"), (std::vector<std::string>{"x", "y"}));
  EXPECT_EQ(m.get_ints("is"), (std::vector<int64_t>{1, -2}));
  EXPECT_EQ(m.get_floats("fs"), (std::vector<float>{0.5f}));
  EXPECT_EQ(m.get_floats("is"), (std::vector<float>{1.0f, -2.0f}));
  EXPECT_TRUE(m.get_strings("nope").empty());

  EXPECT_NE(error_of([&] { m.get_int("absent.key"); }).find("missing metadata key 'absent.key'"), std::string::npos);
  EXPECT_NE(error_of([&] { m.get_int("s"); }).find("metadata key 's'"), std::string::npos);
  EXPECT_NE(error_of([&] { m.get_string_or("i", ""); }).find("metadata key 'i'"), std::string::npos);
  EXPECT_NE(error_of([&] { m.get_strings("s"); }).find("expected an array"), std::string::npos);
  EXPECT_NE(error_of([&] { m.get_ints("ss"); }).find("'ss' element 0"), std::string::npos);
  EXPECT_NE(error_of([&] { m.get_ints("fs"); }).find("expected an integer"), std::string::npos);
  EXPECT_NE(error_of([&] { m.get_strings("is"); }).find("'is' element 0"), std::string::npos);
  EXPECT_EQ(std::string(value_type_name(ValueType::FLOAT64)), "float64");
}

}  // namespace
}  // namespace r1::gguf::test
