// Writer: byte-exact output against a hand-built image, round trips of every value
// type through the reader, input validation, and atomic replacement.
#include <sys/stat.h>

#include <cmath>
#include <cstring>
#include <limits>
#include <random>
#include <stdexcept>

#include "format/gguf_writer.hpp"
#include "unit/format_gguf_image.hpp"

namespace r1::gguf::test {
namespace {

Value scalar_u(ValueType t, uint64_t u) {
  Value v;
  v.type = t;
  v.u = u;
  return v;
}
Value scalar_i(ValueType t, int64_t i) {
  Value v;
  v.type = t;
  v.i = i;
  return v;
}
Value scalar_f(ValueType t, double f) {
  Value v;
  v.type = t;
  v.f = f;
  return v;
}
Value array_of(ValueType elem, std::vector<Value> items) {
  Value v;
  v.type = ValueType::ARRAY;
  v.elem_type = elem;
  v.arr = std::move(items);
  return v;
}

// Structural equality (floats by bit pattern, so NaN and -0.0 count).
void expect_same(const Value& a, const Value& b, const std::string& where) {
  ASSERT_EQ(a.type, b.type) << where;
  switch (a.type) {
    case ValueType::FLOAT32:
    case ValueType::FLOAT64: {
      uint64_t x, y;
      std::memcpy(&x, &a.f, 8);
      std::memcpy(&y, &b.f, 8);
      EXPECT_EQ(x, y) << where;
      break;
    }
    case ValueType::STRING: EXPECT_EQ(a.s, b.s) << where; break;
    case ValueType::ARRAY:
      ASSERT_EQ(a.elem_type, b.elem_type) << where;
      ASSERT_EQ(a.arr.size(), b.arr.size()) << where;
      for (size_t k = 0; k < a.arr.size(); ++k) expect_same(a.arr[k], b.arr[k], where + "[" + std::to_string(k) + "]");
      break;
    default:
      EXPECT_EQ(a.u, b.u) << where;
      EXPECT_EQ(a.i, b.i) << where;
  }
}

TEST(GgufWriter, ByteExactAgainstHandBuiltImage) {
  TempDir dir;
  Writer w;
  w.set("general.architecture", Value::from_string("llama"));
  w.set("llama.block_count", Value::from_u32(2));
  w.set("tokenizer.ggml.tokens", Value::from_strings({"a", "bc"}));
  const float data[6] = {1, 2, 3, 4, 5, 6};
  w.add_tensor("token_embd.weight", DType::F32, {3, 2}, data, sizeof data);
  w.add_tensor("output_norm.weight", DType::F32, {1}, [](uint8_t* dst, size_t n) {
    ASSERT_EQ(n, 4u);
    const float one = 1.0f;
    std::memcpy(dst, &one, 4);
  });
  w.write((dir.path / "m.gguf").string());

  Image m;
  m.header(2, 3).kv_str("general.architecture", "llama").kv_u32("llama.block_count", 2);
  m.str("tokenizer.ggml.tokens").u32(T_ARR).u32(T_STR).u64(2).str("a").str("bc");
  m.tensor("token_embd.weight", {3, 2}, G_F32, 0).tensor("output_norm.weight", {1}, G_F32, 32);
  m.pad(32);
  for (float x : data) m.le(x);
  m.pad(32).le(1.0f).pad(32);  // every tensor is padded, the last one too (as llama.cpp writes)
  EXPECT_EQ(read_bytes(dir.path / "m.gguf"), m.b);
  EXPECT_EQ(dir.entries(), std::vector<std::string>{"m.gguf"});
}

TEST(GgufWriter, RoundTripEveryValueType) {
  TempDir dir;
  Writer w;
  std::vector<std::pair<std::string, Value>> want = {
      {"u8", scalar_u(ValueType::UINT8, 255)},
      {"i8", scalar_i(ValueType::INT8, -128)},
      {"u16", scalar_u(ValueType::UINT16, 65535)},
      {"i16", scalar_i(ValueType::INT16, -32768)},
      {"u32", Value::from_u32(0xFFFFFFFFu)},
      {"i32", Value::from_i32(std::numeric_limits<int32_t>::min())},
      {"u64", Value::from_u64(std::numeric_limits<uint64_t>::max())},
      {"i64", scalar_i(ValueType::INT64, std::numeric_limits<int64_t>::min())},
      {"f32", Value::from_f32(-0.0f)},
      {"f32nan", Value::from_f32(std::numeric_limits<float>::quiet_NaN())},
      {"f32tiny", Value::from_f32(1e-45f)},
      {"f64", scalar_f(ValueType::FLOAT64, 3.141592653589793)},
      {"bool_t", Value::from_bool(true)},
      {"bool_f", Value::from_bool(false)},
      {"str", Value::from_string(std::string("nul\0inside \xe4\xb8\xad", 14))},
      {"str_empty", Value::from_string("")},
      {"arr_u8", array_of(ValueType::UINT8, {scalar_u(ValueType::UINT8, 0), scalar_u(ValueType::UINT8, 9)})},
      {"arr_i16", array_of(ValueType::INT16, {scalar_i(ValueType::INT16, -5)})},
      {"arr_i32", Value::from_i32s({-1, 2, std::numeric_limits<int32_t>::max()})},
      {"arr_u64", array_of(ValueType::UINT64, {Value::from_u64(1ull << 40)})},
      {"arr_f32", Value::from_f32s({0.5f, -1e30f})},
      {"arr_f64", array_of(ValueType::FLOAT64, {scalar_f(ValueType::FLOAT64, -1e300)})},
      {"arr_bool", array_of(ValueType::BOOL, {Value::from_bool(true), Value::from_bool(false)})},
      {"arr_str", Value::from_strings({"", "x", std::string(1000, 'y')})},
      {"arr_empty", array_of(ValueType::STRING, {})},
      {"arr_empty_nested", array_of(ValueType::ARRAY, {})},
      {"nested",
       array_of(ValueType::ARRAY, {Value::from_strings({"a", "b"}), array_of(ValueType::INT8, {}),
                                   array_of(ValueType::ARRAY, {Value::from_f32s({1.0f})})})},
  };
  for (const auto& [k, v] : want) w.set(k, v);
  w.set("u8", scalar_u(ValueType::UINT8, 254));  // replaced in place: order unchanged
  want[0].second.u = 254;
  w.write((dir.path / "v.gguf").string());

  auto f = File::open((dir.path / "v.gguf").string());
  const auto& got = f->metadata().entries();
  ASSERT_EQ(got.size(), want.size());
  for (size_t k = 0; k < want.size(); ++k) {
    EXPECT_EQ(got[k].first, want[k].first);
    expect_same(got[k].second, want[k].second, want[k].first);
  }
}

TEST(GgufWriter, RoundTripTensorsOfEveryType) {
  TempDir dir;
  std::mt19937 rng(7);
  struct T {
    std::string name;
    DType type;
    std::vector<int64_t> shape;
    std::vector<uint8_t> bytes;
  };
  std::vector<T> ts = {{"f32", DType::F32, {5, 3}, {}},     {"f16", DType::F16, {7}, {}},
                       {"bf16", DType::BF16, {3, 1, 2}, {}}, {"q4_0", DType::Q4_0, {64, 2}, {}},
                       {"q8_0", DType::Q8_0, {32, 1, 1, 3}, {}}, {"q4_k", DType::Q4_K, {256}, {}},
                       {"q6_k", DType::Q6_K, {512, 2}, {}},  {"i32", DType::I32, {9}, {}}};
  for (uint64_t alignment : {32u, 64u, 1u}) {
    Writer w(alignment);
    for (auto& t : ts) {
      const size_t n = row_bytes(t.type, t.shape[0]) * static_cast<size_t>(t.shape.size() > 1 ? t.shape[1] : 1) *
                       static_cast<size_t>(t.shape.size() > 2 ? t.shape[2] : 1) *
                       static_cast<size_t>(t.shape.size() > 3 ? t.shape[3] : 1);
      t.bytes.resize(n);
      for (auto& b : t.bytes) b = static_cast<uint8_t>(rng());
      w.add_tensor(t.name, t.type, t.shape, t.bytes.data(), t.bytes.size());
    }
    const auto path = dir.path / ("t" + std::to_string(alignment) + ".gguf");
    w.write(path.string());
    auto f = File::open(path.string());
    EXPECT_EQ(f->alignment(), alignment);
    EXPECT_EQ(f->metadata().has("general.alignment"), alignment != 32);
    ASSERT_EQ(f->tensors().size(), ts.size());
    for (size_t k = 0; k < ts.size(); ++k) {
      const TensorInfo& ti = f->tensors()[k];
      EXPECT_EQ(ti.name, ts[k].name);
      EXPECT_EQ(ti.type, ts[k].type);
      EXPECT_EQ(ti.shape, ts[k].shape);
      EXPECT_EQ(ti.nbytes, ts[k].bytes.size());
      EXPECT_EQ((f->data_offset() + ti.offset) % alignment, 0u);
      EXPECT_EQ(std::vector<uint8_t>(ti.data, ti.data + ti.nbytes), ts[k].bytes) << ts[k].name;
    }
  }
}

TEST(GgufWriter, RejectsBadInput) {
  Writer w;
  const float x[4] = {};
  w.add_tensor("a", DType::F32, {4}, x, sizeof x);
  EXPECT_THROW(w.add_tensor("a", DType::F32, {4}, x, sizeof x), r1::Error);           // duplicate
  EXPECT_THROW(w.add_tensor("q", DType::Q4_0, {16}, [](uint8_t*, size_t) {}), r1::Error);  // row % 32
  EXPECT_THROW(w.add_tensor("b", DType::F32, {4}, x, 12), r1::Error);                 // wrong byte count
  EXPECT_THROW(w.add_tensor("c", DType::F32, {}, x, 0), r1::Error);                   // no dims
  EXPECT_THROW(w.add_tensor("c", DType::F32, {1, 1, 1, 1, 1}, x, 4), r1::Error);      // 5 dims
  EXPECT_THROW(w.add_tensor("c", DType::F32, {4, 0}, x, 0), r1::Error);               // zero dim
  EXPECT_THROW(w.add_tensor("c", DType::F32, {1ll << 62, 4}, nullptr), r1::Error);    // overflow
  EXPECT_THROW(w.add_tensor("", DType::F32, {4}, x, sizeof x), r1::Error);            // empty name
  EXPECT_THROW(w.add_tensor(std::string(64, 'n'), DType::F32, {4}, x, sizeof x), r1::Error);  // llama.cpp limit
  EXPECT_THROW(w.add_tensor("d", static_cast<DType>(42), {4}, x, sizeof x), r1::Error);
  ASSERT_NO_THROW(w.add_tensor("b", DType::F32, {4}, x, sizeof x));  // the failed attempts left no trace

  TempDir dir;
  const std::string path = (dir.path / "bad.gguf").string();
  auto expect_write_error = [&](Writer& bad, const std::string& fragment) {
    try {
      bad.write(path);
      ADD_FAILURE() << "no error";
    } catch (const r1::Error& e) {
      EXPECT_NE(std::string(e.what()).find(fragment), std::string::npos) << e.what();
    }
    EXPECT_TRUE(dir.entries().empty());
  };
  Writer mixed;
  mixed.set("mixed", array_of(ValueType::INT32, {Value::from_i32(1), Value::from_string("no")}));
  expect_write_error(mixed, "'mixed': array element 1 has type string");
  Writer range;
  range.set("r", scalar_u(ValueType::UINT8, 256));
  expect_write_error(range, "'r': value 256 does not fit in uint8");
  Writer align(48);
  expect_write_error(align, "alignment 48");
  Writer conflict(64);
  conflict.set("general.alignment", Value::from_u32(32));
  expect_write_error(conflict, "general.alignment");
  Writer deep;
  Value v = Value::from_i32s({1});
  for (int k = 1; k < kMaxArrayDepth + 1; ++k) v = array_of(ValueType::ARRAY, {v});
  deep.set("deep", v);
  expect_write_error(deep, "nested deeper");
}

// View tensors are written from the caller's memory, in order with filled ones; each view is
// asked for only when its turn comes (so one scratch buffer can serve them all).
TEST(GgufWriter, ViewTensorsAreWrittenInPlaceAndInOrder) {
  TempDir dir;
  const auto path = dir.path / "m.gguf";
  std::vector<float> scratch;
  std::vector<std::string> calls;
  Writer w;
  w.add_tensor_view("a", DType::F32, {3}, [&] {
    calls.push_back("a");
    scratch = {1.0f, 2.0f, 3.0f};
    return reinterpret_cast<const uint8_t*>(scratch.data());
  });
  w.add_tensor("b", DType::F32, {2}, [&](uint8_t* dst, size_t n) {
    calls.push_back("b");
    const float v[2] = {4.0f, 5.0f};
    std::memcpy(dst, v, n);
  });
  w.add_tensor_view("c", DType::F32, {2, 2}, [&] {
    calls.push_back("c");
    scratch = {6.0f, 7.0f, 8.0f, 9.0f};  // reuses the buffer "a" was written from
    return reinterpret_cast<const uint8_t*>(scratch.data());
  });
  EXPECT_THROW(w.add_tensor_view("d", DType::F32, {2}, nullptr), r1::Error);
  EXPECT_THROW(w.add_tensor_view("a", DType::F32, {2}, [] { return nullptr; }), r1::Error);  // duplicate
  EXPECT_TRUE(calls.empty());
  w.write(path.string());
  EXPECT_EQ(calls, (std::vector<std::string>{"a", "b", "c"}));
  auto f = File::open(path.string());
  const float want_a[] = {1, 2, 3}, want_b[] = {4, 5}, want_c[] = {6, 7, 8, 9};
  ASSERT_EQ(f->tensors().size(), 3u);
  EXPECT_EQ(std::memcmp(f->find_tensor("a")->data, want_a, sizeof want_a), 0);
  EXPECT_EQ(std::memcmp(f->find_tensor("b")->data, want_b, sizeof want_b), 0);
  EXPECT_EQ(std::memcmp(f->find_tensor("c")->data, want_c, sizeof want_c), 0);
  EXPECT_EQ(f->find_tensor("c")->shape, (std::vector<int64_t>{2, 2}));
}

TEST(GgufWriter, MissingDirectoryLeavesNothing) {
  TempDir dir;
  Writer w;
  w.set("k", Value::from_u32(1));
  const auto target = dir.path / "no_such_dir" / "m.gguf";
  try {
    w.write(target.string());
    ADD_FAILURE() << "no error";
  } catch (const r1::Error& e) {
    EXPECT_NE(std::string(e.what()).find(target.string()), std::string::npos) << e.what();
  }
  EXPECT_FALSE(std::filesystem::exists(dir.path / "no_such_dir"));
  EXPECT_TRUE(dir.entries().empty());
}

TEST(GgufWriter, FailingFillKeepsOldFileAndRemovesTemp) {
  TempDir dir;
  const auto path = dir.path / "m.gguf";
  const std::vector<uint8_t> old = {'o', 'l', 'd', '\n'};
  write_bytes(path, old);
  ::chmod(path.c_str(), 0640);

  auto failing = [](auto exception) {
    Writer w;
    w.set("k", Value::from_u32(1));
    const float x[32] = {};
    w.add_tensor("ok", DType::F32, {32}, x, sizeof x);
    w.add_tensor("bad", DType::F32, {8}, [exception](uint8_t* dst, size_t n) {
      std::memset(dst, 0xAB, n / 2);
      throw exception;
    });
    return w;
  };
  EXPECT_THROW(failing(r1::Error("fill failed")).write(path.string()), r1::Error);
  EXPECT_EQ(read_bytes(path), old);
  EXPECT_EQ(dir.entries(), std::vector<std::string>{"m.gguf"});
  // Exceptions of other types propagate unchanged and clean up the same way.
  EXPECT_THROW(failing(std::runtime_error("other")).write(path.string()), std::runtime_error);
  EXPECT_EQ(read_bytes(path), old);
  EXPECT_EQ(dir.entries(), std::vector<std::string>{"m.gguf"});

  // A successful write replaces the file and keeps its permission bits.
  Writer good;
  good.set("k", Value::from_u32(7));
  good.write(path.string());
  EXPECT_EQ(File::open(path.string())->metadata().get_int("k"), 7);
  struct stat st {};
  ASSERT_EQ(::stat(path.c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0777, 0640u);
  EXPECT_EQ(dir.entries(), std::vector<std::string>{"m.gguf"});
}

TEST(GgufWriter, RelativePathInCurrentDirectory) {
  TempDir dir;
  const auto cwd = std::filesystem::current_path();
  std::filesystem::current_path(dir.path);
  Writer w;
  w.set("k", Value::from_string("v"));
  EXPECT_NO_THROW(w.write("rel.gguf"));
  std::filesystem::current_path(cwd);
  EXPECT_EQ(File::open((dir.path / "rel.gguf").string())->metadata().get_string("k"), "v");
  EXPECT_EQ(dir.entries(), std::vector<std::string>{"rel.gguf"});
  // A new file gets 0666 minus the umask (not mkstemp's 0600).
  const mode_t mask = ::umask(0);
  ::umask(mask);
  struct stat st {};
  ASSERT_EQ(::stat((dir.path / "rel.gguf").c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0777, 0666u & ~mask);
}

}  // namespace
}  // namespace r1::gguf::test
