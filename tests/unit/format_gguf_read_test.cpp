// Reader checked against hand-built byte images (values written here byte by byte).
#include <cmath>
#include <limits>

#include "unit/format_gguf_image.hpp"

namespace r1::gguf::test {
namespace {

TEST(GgufRead, EveryScalarType) {
  Image m;
  m.header(0, 13);
  m.str("u8").u32(T_U8).u8(200);
  m.str("i8").u32(T_I8).le<int8_t>(-100);
  m.str("u16").u32(T_U16).le<uint16_t>(60000);
  m.str("i16").u32(T_I16).le<int16_t>(-30000);
  m.str("u32").u32(T_U32).u32(4000000000u);
  m.str("i32").u32(T_I32).le<int32_t>(-2000000000);
  m.str("f32").u32(T_F32).u32(0x3FC00000u);  // 1.5f
  m.str("bool").u32(T_BOOL).u8(1);
  m.str("str").u32(T_STR).str(std::string("h\0\xc3\xa9", 4));
  m.str("u64").u32(T_U64).u64(0xFFFFFFFFFFFFFFFFull);
  m.str("i64").u32(T_I64).u64(0x8000000000000000ull);  // INT64_MIN
  m.str("f64").u32(T_F64).u64(0xC004000000000000ull);  // -2.5
  m.str("empty").u32(T_STR).str("");
  auto f = m.parse("scalars.gguf");
  const Metadata& md = f->metadata();
  ASSERT_EQ(md.entries().size(), 13u);
  EXPECT_EQ(f->version(), 3u);
  EXPECT_EQ(f->alignment(), 32u);
  EXPECT_EQ(f->name(), "scalars.gguf");
  EXPECT_EQ(f->file_size(), m.size());
  // File order is kept.
  const char* order[] = {"u8", "i8", "u16", "i16", "u32", "i32", "f32", "bool", "str", "u64", "i64", "f64", "empty"};
  for (size_t k = 0; k < 13; ++k) EXPECT_EQ(md.entries()[k].first, order[k]);

  EXPECT_EQ(md.find("u8")->type, ValueType::UINT8);
  EXPECT_EQ(md.find("u8")->u, 200u);
  EXPECT_EQ(md.find("i8")->i, -100);
  EXPECT_EQ(md.find("u16")->u, 60000u);
  EXPECT_EQ(md.find("i16")->i, -30000);
  EXPECT_EQ(md.find("u32")->u, 4000000000u);
  EXPECT_EQ(md.find("i32")->i, -2000000000);
  EXPECT_EQ(md.find("f32")->type, ValueType::FLOAT32);
  EXPECT_EQ(md.find("f32")->f, 1.5);
  EXPECT_EQ(md.find("bool")->type, ValueType::BOOL);
  EXPECT_TRUE(md.get_bool_or("bool", false));
  EXPECT_EQ(md.find("str")->s, std::string("h\0\xc3\xa9", 4));
  EXPECT_EQ(md.find("u64")->u, std::numeric_limits<uint64_t>::max());
  EXPECT_EQ(md.find("i64")->i, std::numeric_limits<int64_t>::min());
  EXPECT_EQ(md.find("f64")->f, -2.5);
  EXPECT_EQ(md.get_string("empty"), "");
  EXPECT_TRUE(f->tensors().empty());
}

TEST(GgufRead, ArraysIncludingNestedAndEmpty) {
  Image m;
  m.header(0, 4);
  m.str("ints").u32(T_ARR).u32(T_I32).u64(3).le<int32_t>(-1).le<int32_t>(0).le<int32_t>(7);
  m.str("strs").u32(T_ARR).u32(T_STR).u64(2).str("ab").str("");
  m.str("none").u32(T_ARR).u32(T_F32).u64(0);
  // [[1u8, 2u8], [], ["x"]] : an array of arrays with different element types
  m.str("nest").u32(T_ARR).u32(T_ARR).u64(3);
  m.u32(T_U8).u64(2).u8(1).u8(2);
  m.u32(T_I64).u64(0);
  m.u32(T_STR).u64(1).str("x");
  auto f = m.parse();
  const Metadata& md = f->metadata();
  EXPECT_EQ(md.get_ints("ints"), (std::vector<int64_t>{-1, 0, 7}));
  EXPECT_EQ(md.get_strings("strs"), (std::vector<std::string>{"ab", ""}));
  EXPECT_EQ(md.find("none")->elem_type, ValueType::FLOAT32);
  EXPECT_TRUE(md.get_floats("none").empty());
  const Value& n = *md.find("nest");
  ASSERT_EQ(n.type, ValueType::ARRAY);
  ASSERT_EQ(n.elem_type, ValueType::ARRAY);
  ASSERT_EQ(n.arr.size(), 3u);
  EXPECT_EQ(n.arr[0].elem_type, ValueType::UINT8);
  ASSERT_EQ(n.arr[0].arr.size(), 2u);
  EXPECT_EQ(n.arr[0].arr[1].u, 2u);
  EXPECT_EQ(n.arr[1].elem_type, ValueType::INT64);
  EXPECT_TRUE(n.arr[1].arr.empty());
  EXPECT_EQ(n.arr[2].arr.at(0).s, "x");
}

TEST(GgufRead, NestingUpToTheLimit) {
  auto nested = [](int levels) {
    Image m;
    m.header(0, 1).str("deep").u32(T_ARR);
    for (int k = 1; k < levels; ++k) m.u32(T_ARR).u64(1);
    m.u32(T_U8).u64(1).u8(42);
    return m;
  };
  auto f = nested(kMaxArrayDepth).parse();
  const Value* v = f->metadata().find("deep");
  for (int k = 1; k < kMaxArrayDepth; ++k) v = &v->arr.at(0);
  EXPECT_EQ(v->arr.at(0).u, 42u);
  expect_parse_error(nested(kMaxArrayDepth + 1), {"bad.gguf", "'deep'", "nested deeper"});
}

// Two tensors (f32 [4,2], q8_0 [32]) with known bytes; alignment 64 from the metadata.
Image two_tensor_image(uint32_t version = 3) {
  Image m;
  m.header(2, 2, version).kv_str("general.architecture", "llama").kv_u32("general.alignment", 64);
  m.tensor("blk.0.w", {4, 2}, G_F32, 0);
  m.tensor("blk.0.q", {32}, G_Q8_0, 64);
  m.pad(64);
  for (int k = 0; k < 8; ++k) m.le<float>(static_cast<float>(k) - 3.5f);
  m.zeros(32);  // padding to the next 64-byte offset
  m.le<uint16_t>(0x3C00);  // q8_0 block: fp16 scale 1.0, then 32 int8 quants
  for (int k = 0; k < 32; ++k) m.le<int8_t>(static_cast<int8_t>(k - 16));
  return m;
}

TEST(GgufRead, TensorInfosAndData) {
  for (uint32_t version : {2u, 3u}) {
    Image m = two_tensor_image(version);
    auto f = m.parse();
    EXPECT_EQ(f->version(), version);
    EXPECT_EQ(f->alignment(), 64u);
    // header 24 + key/values + infos, rounded up to 64
    const size_t infos_end = 24 + (8 + 20 + 4 + 8 + 5) + (8 + 17 + 4 + 4) + (8 + 7 + 4 + 16 + 4 + 8) + (8 + 7 + 4 + 8 + 4 + 8);
    EXPECT_EQ(f->data_offset(), (infos_end + 63) / 64 * 64);
    ASSERT_EQ(f->tensors().size(), 2u);
    const TensorInfo& w = f->tensors()[0];
    EXPECT_EQ(w.name, "blk.0.w");
    EXPECT_EQ(w.type, DType::F32);
    EXPECT_EQ(w.shape, (std::vector<int64_t>{4, 2}));
    EXPECT_EQ(w.n_elements(), 8);
    EXPECT_EQ(w.n_rows(), 2);
    EXPECT_EQ(w.nbytes, 32u);
    EXPECT_EQ(w.data, m.keep_->data() + f->data_offset());
    float x;
    std::memcpy(&x, w.data + 4 * 7, 4);
    EXPECT_EQ(x, 3.5f);
    const TensorInfo* q = f->find_tensor("blk.0.q");
    ASSERT_NE(q, nullptr);
    EXPECT_EQ(q->type, DType::Q8_0);
    EXPECT_EQ(q->nbytes, 34u);
    EXPECT_EQ(q->offset, 64u);
    EXPECT_EQ(static_cast<int8_t>(q->data[2]), -16);
    EXPECT_EQ(static_cast<int8_t>(q->data[33]), 15);
    EXPECT_EQ(q->data + 34, m.keep_->data() + m.size());  // ends exactly at the end of the file
    EXPECT_EQ(f->find_tensor("nope"), nullptr);
  }
}

TEST(GgufRead, QuantBlockSizes) {
  // q4_k: 256 elements per 144-byte block; q6_k: 256 per 210; f16/bf16: 2 bytes each.
  Image m;
  m.header(4, 0);
  m.tensor("a", {512, 3}, G_Q4_K, 0);      // 2 blocks/row * 3 rows * 144 = 864
  m.tensor("b", {256}, G_Q6_K, 864);       // 210
  m.tensor("c", {3, 5}, G_F16, 1088);      // 30
  m.tensor("d", {7}, G_BF16, 1120);        // 14
  m.pad(32).zeros(1134);
  auto f = m.parse();
  EXPECT_EQ(f->tensors()[0].nbytes, 864u);
  EXPECT_EQ(f->tensors()[1].nbytes, 210u);
  EXPECT_EQ(f->tensors()[2].nbytes, 30u);
  EXPECT_EQ(f->tensors()[3].nbytes, 14u);
}

TEST(GgufRead, OpenFromDisk) {
  TempDir dir;
  Image m = two_tensor_image();
  write_bytes(dir.path / "m.gguf", m.b);
  auto f = File::open((dir.path / "m.gguf").string());
  EXPECT_EQ(f->name(), (dir.path / "m.gguf").string());
  EXPECT_EQ(f->metadata().get_string("general.architecture"), "llama");
  const TensorInfo* w = f->find_tensor("blk.0.w");
  ASSERT_NE(w, nullptr);
  float x;
  std::memcpy(&x, w->data, 4);
  EXPECT_EQ(x, -3.5f);
  EXPECT_EQ(reinterpret_cast<uintptr_t>(w->data) % 64, 0u);  // mapping is page aligned

  write_bytes(dir.path / "empty.gguf", {});
  EXPECT_THROW(File::open((dir.path / "empty.gguf").string()), r1::Error);
  EXPECT_THROW(File::open((dir.path / "missing.gguf").string()), r1::Error);
  EXPECT_THROW(File::open(dir.path.string()), r1::Error);  // a directory
}

TEST(GgufRead, NoTensorsNoPadding) {
  // A metadata-only file need not carry padding after the header.
  Image m;
  m.header(0, 1).kv_u32("k", 5);
  auto f = m.parse();
  EXPECT_EQ(f->metadata().get_int("k"), 5);
  EXPECT_LE(f->data_offset(), m.size());
}

}  // namespace
}  // namespace r1::gguf::test
