// Reader on broken input: every case must throw r1::Error with a message that
// names the file, the key or tensor, and the problem; nothing may crash.
#include "unit/format_gguf_image.hpp"

namespace r1::gguf::test {
namespace {

// A small valid file touching every section: scalars, a string, a nested array,
// an explicit alignment, two tensors, data ending exactly at the end of the file.
Image small_valid() {
  Image m;
  m.header(2, 4).kv_str("general.architecture", "qwen2").kv_u32("general.alignment", 32);
  m.str("n").u32(T_ARR).u32(T_ARR).u64(2);
  m.u32(T_U8).u64(2).u8(1).u8(2);
  m.u32(T_STR).u64(1).str("x");
  m.str("b").u32(T_BOOL).u8(1);
  m.tensor("w", {4, 2}, G_F32, 0);
  m.tensor("q", {32}, G_Q8_0, 32);
  m.pad(32);
  for (int k = 0; k < 8; ++k) m.le<float>(1.0f);
  m.zeros(34);
  return m;
}

TEST(GgufInvalid, SmallValidFileParses) {
  auto f = small_valid().parse();
  EXPECT_EQ(f->tensors().size(), 2u);
  EXPECT_EQ(f->metadata().entries().size(), 4u);
}

TEST(GgufInvalid, TruncationAtEveryOffset) {
  const Image full = small_valid();
  for (size_t len = 0; len < full.size(); ++len) {
    Image cut;
    cut.b.assign(full.b.begin(), full.b.begin() + static_cast<ptrdiff_t>(len));
    try {
      cut.parse("cut.gguf");
      ADD_FAILURE() << "prefix of " << len << " bytes parsed";
    } catch (const r1::Error& e) {
      EXPECT_EQ(std::string(e.what()).rfind("cut.gguf: ", 0), 0u) << e.what();
    }
  }
}

TEST(GgufInvalid, MagicAndVersion) {
  Image m;
  m.raw("GGML").u32(3).u64(0).u64(0);
  expect_parse_error(m, {"bad.gguf", "not a GGUF file", "'GGML'"});
  for (uint32_t v : {0u, 1u, 4u, 0x03000000u}) {
    Image x;
    x.header(0, 0, v);
    expect_parse_error(x, {"bad.gguf", "version"});
  }
  Image be;
  be.header(0, 0, 0x03000000u);
  expect_parse_error(be, {"big-endian"});
  Image tiny;
  tiny.raw("GG");
  expect_parse_error(tiny, {"truncated", "magic"});
}

TEST(GgufInvalid, AbsurdCounts) {
  Image t;
  t.header(1ull << 62, 0).zeros(64);
  expect_parse_error(t, {"bad.gguf", "tensor count 4611686018427387904", "cannot fit"});
  Image k;
  k.header(0, ~0ull).zeros(64);
  expect_parse_error(k, {"metadata count 18446744073709551615", "cannot fit"});
  Image both;  // each alone fits, together they do not
  both.header(2, 3).zeros(64);
  expect_parse_error(both, {"cannot fit in the remaining 64 bytes"});
}

TEST(GgufInvalid, HugeLengths) {
  Image key;
  key.header(0, 1).u64(1ull << 63).zeros(16);
  expect_parse_error(key, {"metadata entry #0", "key length 9223372036854775808 exceeds"});
  Image val;
  val.header(0, 1).str("s").u32(T_STR).u64(1ull << 40).zeros(8);
  expect_parse_error(val, {"'s'", "truncated", "string value"});
  Image arr;
  arr.header(0, 1).str("a").u32(T_ARR).u32(T_U8).u64(1ull << 60).zeros(8);
  expect_parse_error(arr, {"'a'", "array of 1152921504606846976 uint8 elements cannot fit"});
  Image strs;  // 100 strings cannot fit in 16 bytes even if all were empty
  strs.header(0, 1).str("a").u32(T_ARR).u32(T_STR).u64(100).zeros(16);
  expect_parse_error(strs, {"cannot fit"});
  Image name;
  name.header(1, 0).u64(~0ull).zeros(64);
  expect_parse_error(name, {"tensor #0", "truncated", "tensor name"});
}

TEST(GgufInvalid, MetadataElementCap) {
  Image m;  // one more element than allowed, and enough bytes that the size check passes
  m.header(0, 1).str("big").u32(T_ARR).u32(T_U8).u64(kMaxMetadataElements + 1).zeros(kMaxMetadataElements + 1);
  expect_parse_error(m, {"'big'", "more than 16777216 array elements"});
}

TEST(GgufInvalid, BadValues) {
  Image boolean;
  boolean.header(0, 1).str("flag").u32(T_BOOL).u8(2);
  expect_parse_error(boolean, {"'flag'", "bool value 2"});
  Image type;
  type.header(0, 1).str("k").u32(13).u32(0);
  expect_parse_error(type, {"'k'", "unknown value type 13"});
  Image elem;
  elem.header(0, 1).str("k").u32(T_ARR).u32(99).u64(0);
  expect_parse_error(elem, {"'k'", "unknown value type 99"});
  Image empty_key;
  empty_key.header(0, 1).str("").u32(T_U8).u8(0);
  expect_parse_error(empty_key, {"metadata entry #0", "empty key"});
  Image dup;
  dup.header(0, 2).kv_u32("a.b", 1).kv_u32("a.b", 2);
  expect_parse_error(dup, {"'a.b'", "duplicate key"});
}

TEST(GgufInvalid, BadAlignment) {
  for (uint32_t a : {0u, 3u, 48u}) {
    Image m;
    m.header(0, 1).kv_u32("general.alignment", a);
    expect_parse_error(m, {"bad.gguf", "general.alignment", "not a power of two"});
  }
  Image wrong_type;
  wrong_type.header(0, 1).str("general.alignment").u32(T_U64).u64(32);
  expect_parse_error(wrong_type, {"general.alignment", "must be uint32"});
}

TEST(GgufInvalid, BadDimensions) {
  auto one = [](std::vector<uint64_t> dims, uint32_t type = G_F32) {
    Image m;
    m.header(1, 0).tensor("blk.0.attn_q.weight", dims, type, 0).pad(32).zeros(4096);
    return m;
  };
  expect_parse_error(one({}), {"'blk.0.attn_q.weight'", "n_dims 0"});
  expect_parse_error(one({1, 1, 1, 1, 1}), {"'blk.0.attn_q.weight'", "n_dims 5"});
  expect_parse_error(one({4, 0}), {"'blk.0.attn_q.weight'", "dimension 1 is zero"});
  expect_parse_error(one({1ull << 32, 1ull << 32}), {"'blk.0.attn_q.weight'", "overflow int64"});
  expect_parse_error(one({1ull << 63}), {"overflow int64"});
  expect_parse_error(one({2, 1ull << 62}), {"overflow int64"});
  // fits in int64 elements but not in bytes: 2^62 f64 elements = 2^65 bytes
  expect_parse_error(one({1ull << 62}, 28), {"byte size", "overflows"});
  expect_parse_error(one({31}, G_Q4_0), {"'blk.0.attn_q.weight'", "row length 31", "q4_0 block size 32"});
  expect_parse_error(one({4}, 42), {"'blk.0.attn_q.weight'", "unknown tensor type id 42"});
  expect_parse_error(one({4}, 4), {"unknown tensor type id 4"});  // removed Q4_2
}

TEST(GgufInvalid, BadNames) {
  Image empty;
  empty.header(1, 0).tensor("", {4}, G_F32, 0).pad(32).zeros(16);
  expect_parse_error(empty, {"tensor #0", "empty tensor name"});
  Image lng;
  lng.header(1, 0).tensor(std::string(65, 'x'), {4}, G_F32, 0).pad(32).zeros(16);
  expect_parse_error(lng, {"65 bytes long"});
  Image ok64;
  ok64.header(1, 0).tensor(std::string(64, 'x'), {4}, G_F32, 0).pad(32).zeros(16);
  EXPECT_NO_THROW(ok64.parse());
  Image dup;
  dup.header(2, 0).tensor("w", {4}, G_F32, 0).tensor("w", {4}, G_F32, 32).pad(32).zeros(64);
  expect_parse_error(dup, {"tensor 'w'", "duplicate tensor name"});
}

TEST(GgufInvalid, BadOffsets) {
  Image mis;
  mis.header(1, 0).tensor("w", {4}, G_F32, 4).pad(32).zeros(64);
  expect_parse_error(mis, {"tensor 'w'", "offset 4 is not a multiple of the alignment 32"});

  Image past;
  past.header(1, 0).tensor("blk.0.attn_q.weight", {4}, G_F32, 64).pad(32).zeros(64);
  const size_t start = past.size() - 64;
  expect_parse_error(past, {fmt::format("model.gguf: tensor 'blk.0.attn_q.weight': data [{}, {}) extends past end of file "
                                        "(size {})",
                                        start + 64, start + 80, past.size())},
                     "model.gguf");

  Image partial;  // last tensor one byte short
  partial.header(1, 0).tensor("w", {4}, G_F32, 0).pad(32).zeros(15);
  expect_parse_error(partial, {"tensor 'w'", "extends past end of file"});

  Image wrap;  // offset + size wraps around 2^64
  wrap.header(1, 0).tensor("w", {4}, G_F32, ~0ull - 31).pad(32).zeros(16);
  expect_parse_error(wrap, {"tensor 'w'", "overflows"});

  Image no_data;  // data section would begin past the end
  no_data.header(1, 0).tensor("w", {4}, G_F32, 0);
  expect_parse_error(no_data, {"data section would start"});
}

TEST(GgufInvalid, OverlappingTensors) {
  Image m;  // b starts inside a ([0,64) and [32,48))
  m.header(2, 0).tensor("a", {16}, G_F32, 0).tensor("b", {4}, G_F32, 32).pad(32).zeros(64);
  expect_parse_error(m, {"tensor 'a' data [0, 64) overlaps tensor 'b' data [32, 48)"});
  Image same;
  same.header(2, 0).tensor("a", {4}, G_F32, 0).tensor("b", {4}, G_F32, 0).pad(32).zeros(64);
  expect_parse_error(same, {"overlaps"});
  Image shared_later;  // listed out of order; still caught
  shared_later.header(3, 0)
      .tensor("c", {8}, G_F32, 64)
      .tensor("a", {4}, G_F32, 0)
      .tensor("b", {16}, G_F32, 32)
      .pad(32)
      .zeros(128);
  expect_parse_error(shared_later, {"tensor 'b' data [32, 96) overlaps tensor 'c' data [64, 96)"});
  Image adjacent;  // touching is fine
  adjacent.header(2, 0).tensor("a", {8}, G_F32, 0).tensor("b", {8}, G_F32, 32).pad(32).zeros(64);
  EXPECT_NO_THROW(adjacent.parse());
}

}  // namespace
}  // namespace r1::gguf::test
