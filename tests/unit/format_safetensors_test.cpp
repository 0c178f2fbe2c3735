// safetensors reader: files written here by hand (8-byte length + header JSON + data
// bytes spelled out), sharded directories, one test per validation rule (the hostile
// input is refused with a message naming the file, the tensor and the problem), the
// FP8 E4M3 table and block-scaled dequantization.
#include <gtest/gtest.h>
#include <unistd.h>

#include <chrono>
#include <cmath>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <initializer_list>
#include <string>
#include <vector>

#include "base/error.hpp"
#include "format/fp8.hpp"
#include "format/safetensors.hpp"

namespace r1::safetensors {
namespace {

namespace fs = std::filesystem;

// 8-byte little-endian length of `header`, the header, then `data`.
std::vector<uint8_t> image(const std::string& header, const std::vector<uint8_t>& data = {}) {
  std::vector<uint8_t> b;
  b.reserve(8 + header.size() + data.size());
  const uint64_t n = header.size();
  for (int k = 0; k < 8; ++k) b.push_back(static_cast<uint8_t>(n >> (8 * k)));
  for (char c : header) b.push_back(static_cast<uint8_t>(c));
  for (uint8_t c : data) b.push_back(c);
  return b;
}

std::unique_ptr<File> parse(const std::vector<uint8_t>& b, const std::string& name = "t.safetensors") {
  return File::parse(b.data(), b.size(), name);
}

// Expects `b` to be refused with a message holding every part of `parts`.
void expect_refused(const std::vector<uint8_t>& b, std::initializer_list<std::string> parts) {
  try {
    parse(b, "bad.safetensors");
    ADD_FAILURE() << "parsed, expected an error with '" << *parts.begin() << "'";
  } catch (const Error& e) {
    const std::string msg = e.what();
    EXPECT_EQ(msg.rfind("bad.safetensors: ", 0), 0u) << msg;
    for (const std::string& p : parts) EXPECT_NE(msg.find(p), std::string::npos) << "'" << p << "' not in: " << msg;
    EXPECT_EQ(msg.find('\n'), std::string::npos) << msg;
  }
}

// One F32 entry.
std::string f32(const std::string& name, const std::string& shape, uint64_t begin, uint64_t end) {
  return "\"" + name + "\":{\"dtype\":\"F32\",\"shape\":" + shape + ",\"data_offsets\":[" + std::to_string(begin) +
         "," + std::to_string(end) + "]}";
}

std::vector<uint8_t> zeros(size_t n) { return std::vector<uint8_t>(n, 0); }

// ---- valid files -------------------------------------------------------------------

TEST(Safetensors, SmallFileParses) {
  // a: F32 [2, 2] = 1, -2, 0.5, 3 at [0, 16); b: F16 [2] = 1, -2 at [16, 20). Listed b first.
  const std::string h =
      R"({"__metadata__":{"format":"pt","note":"x"},)"
      R"("b":{"dtype":"F16","shape":[2],"data_offsets":[16,20]},)"
      R"("a":{"dtype":"F32","shape":[2,2],"data_offsets":[0,16]}})";
  const std::vector<uint8_t> data = {0x00, 0x00, 0x80, 0x3F, 0x00, 0x00, 0x00, 0xC0, 0x00, 0x00,
                                     0x00, 0x3F, 0x00, 0x00, 0x40, 0x40, 0x00, 0x3C, 0x00, 0xC0};
  const auto b = image(h, data);
  auto f = parse(b);
  EXPECT_EQ(f->header_bytes(), h.size());
  EXPECT_EQ(f->file_size(), 8 + h.size() + 20);
  ASSERT_EQ(f->metadata().size(), 2u);
  EXPECT_EQ(f->metadata()[0], (std::pair<std::string, std::string>("format", "pt")));
  EXPECT_EQ(f->metadata()[1], (std::pair<std::string, std::string>("note", "x")));
  ASSERT_EQ(f->tensors().size(), 2u);
  const TensorInfo& a = f->tensors()[0];  // data-offset order
  EXPECT_EQ(a.name, "a");
  EXPECT_EQ(a.dtype, Dtype::F32);
  EXPECT_EQ(a.shape, (std::vector<int64_t>{2, 2}));
  EXPECT_EQ(a.n_elements(), 4);
  EXPECT_EQ(a.nbytes, 16u);
  EXPECT_EQ(a.data, b.data() + 8 + h.size());
  const TensorInfo& t = *f->find("b");
  EXPECT_EQ(&t, &f->tensors()[1]);
  EXPECT_EQ(t.dtype, Dtype::F16);
  EXPECT_EQ(t.begin, 16u);
  EXPECT_EQ(t.data, a.data + 16);
  EXPECT_EQ(f->find("c"), nullptr);
  std::vector<float> v(4);
  to_float(a, v.data());
  EXPECT_EQ(v, (std::vector<float>{1.0f, -2.0f, 0.5f, 3.0f}));
  to_float(t, v.data());
  EXPECT_EQ(v[0], 1.0f);
  EXPECT_EQ(v[1], -2.0f);
}

TEST(Safetensors, OtherDtypesConvertAndRawDtypesAreSizeChecked) {
  // BF16 0x4049 = 3.140625, 0xBF80 = -1; F64 2.5; F8_E5M2 0x3C = 1, 0xC0 = -2;
  // I64 [1] and BOOL [3] and U8 [1] are raw; F4 [4] is 2 bytes.
  const std::string h =
      R"({"h":{"dtype":"BF16","shape":[2],"data_offsets":[0,4]},)"
      R"("d":{"dtype":"F64","shape":[],"data_offsets":[4,12]},)"
      R"("e":{"dtype":"F8_E5M2","shape":[2],"data_offsets":[12,14]},)"
      R"("i":{"dtype":"I64","shape":[1],"data_offsets":[14,22]},)"
      R"("q":{"dtype":"BOOL","shape":[3],"data_offsets":[22,25]},)"
      R"("u":{"dtype":"U8","shape":[1,1],"data_offsets":[25,26]},)"
      R"("f":{"dtype":"F4","shape":[4],"data_offsets":[26,28]}})";
  std::vector<uint8_t> data(28, 1);
  const uint8_t head[] = {0x49, 0x40, 0x80, 0xBF, 0, 0, 0, 0, 0, 0, 0x04, 0x40, 0x3C, 0xC0};
  std::memcpy(data.data(), head, sizeof head);
  const auto b = image(h, data);  // File::parse does not copy: the image must outlive f
  auto f = parse(b);
  ASSERT_EQ(f->tensors().size(), 7u);
  float v[2];
  to_float(*f->find("h"), v);
  EXPECT_EQ(v[0], 3.140625f);
  EXPECT_EQ(v[1], -1.0f);
  const TensorInfo& d = *f->find("d");
  EXPECT_TRUE(d.shape.empty());
  EXPECT_EQ(d.n_elements(), 1);
  to_float(d, v);
  EXPECT_EQ(v[0], 2.5f);
  to_float(*f->find("e"), v);
  EXPECT_EQ(v[0], 1.0f);
  EXPECT_EQ(v[1], -2.0f);
  EXPECT_EQ(f->find("i")->nbytes, 8u);
  EXPECT_EQ(f->find("q")->nbytes, 3u);
  EXPECT_EQ(f->find("f")->nbytes, 2u);
  try {
    to_float(*f->find("i"), v);
    ADD_FAILURE() << "I64 converted";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("\"i\": dtype I64 cannot be converted"), std::string::npos) << e.what();
  }
}

TEST(Safetensors, EmptyTensorsScalarsPaddingAndEmptyHeader) {
  // An empty tensor takes no bytes (may sit at the end); the header may be padded with spaces.
  const std::string h = "{" + f32("s", "[]", 0, 4) + "," + f32("z", "[0,3]", 4, 4) + "}    ";
  const auto b = image(h, zeros(4));
  auto f = parse(b);
  EXPECT_EQ(f->find("z")->n_elements(), 0);
  EXPECT_EQ(f->find("z")->nbytes, 0u);
  to_float(*f->find("z"), nullptr);  // nothing to write (an empty vector's data() is null; UBSan, found by the fuzzer)
  EXPECT_EQ(f->find("s")->n_elements(), 1);
  const auto empty = image("{}");
  auto e = parse(empty);
  EXPECT_TRUE(e->tensors().empty());
  EXPECT_TRUE(e->metadata().empty());
}

TEST(Safetensors, DtypeTable) {
  for (int k = 0; k < static_cast<int>(Dtype::count); ++k) {
    const auto d = static_cast<Dtype>(k);
    Dtype back = Dtype::count;
    ASSERT_TRUE(parse_dtype(dtype_name(d), &back)) << dtype_name(d);
    EXPECT_EQ(back, d);
    EXPECT_EQ(dtype_info(d).dtype, d);
  }
  Dtype d;
  EXPECT_FALSE(parse_dtype("f32", &d));  // case-sensitive, as the reference is
  EXPECT_EQ(dtype_info(Dtype::F8_E4M3).bits, 8);
  EXPECT_EQ(dtype_info(Dtype::BF16).bits, 16);
  EXPECT_EQ(dtype_info(Dtype::F6_E2M3).bits, 6);
}

// ---- validation: one test per rule ---------------------------------------------------

TEST(SafetensorsInvalid, TooShortForTheLength) {
  expect_refused({1, 0, 0}, {"3 bytes is too short"});
}

TEST(SafetensorsInvalid, HeaderLengthOverTheLimit) {
  std::vector<uint8_t> b = image("{}");
  const uint64_t n = 100'000'001;
  std::memcpy(b.data(), &n, 8);
  expect_refused(b, {"header length 100000001 exceeds the limit of 100000000"});
  const uint64_t huge = ~0ull;
  std::memcpy(b.data(), &huge, 8);
  expect_refused(b, {"header length 18446744073709551615 exceeds"});
}

TEST(SafetensorsInvalid, HeaderLengthPastTheEnd) {
  std::vector<uint8_t> b = image("{}");
  b[0] = 3;
  expect_refused(b, {"header length 3 runs past the end of the file (2 bytes follow"});
}

TEST(SafetensorsInvalid, HeaderMustBeginWithBrace) {
  expect_refused(image(" {}"), {"does not begin with '{'"});
  expect_refused(image("[]"), {"does not begin with '{'"});
  expect_refused(image(""), {"does not begin with '{'"});
}

TEST(SafetensorsInvalid, NotJson) {
  expect_refused(image("{\"a\":"), {"header: not valid JSON"});
  expect_refused(image("{} x"), {"header: not valid JSON"});
}

TEST(SafetensorsInvalid, PaddingOtherThanWhitespaceAndBadUtf8) {
  // A JSON parser may stop at a NUL byte; the bytes after it must not be ignored.
  expect_refused(image(std::string("{}\0\0", 4)), {"header holds a NUL byte at offset 2"});
  expect_refused(image(std::string("{}\0{\"x\":1}", 10)), {"NUL byte"});
  expect_refused(image("{\"\xff\":1}"), {"not valid JSON"});
}

TEST(SafetensorsInvalid, DuplicateTensorName) {
  const std::string h = "{" + f32("a", "[1]", 0, 4) + "," + f32("a", "[1]", 4, 8) + "}";
  expect_refused(image(h, zeros(8)), {"duplicate key \"a\""});
}

TEST(SafetensorsInvalid, DuplicateFieldInAnEntry) {
  expect_refused(image(R"({"a":{"dtype":"F32","dtype":"F16","shape":[1],"data_offsets":[0,4]}})", zeros(4)),
                 {"duplicate key \"dtype\""});
  expect_refused(image(R"({"__metadata__":{"k":"1","k":"2"}})"), {"duplicate key \"k\""});
}

TEST(SafetensorsInvalid, MetadataMustMapStringsToStrings) {
  expect_refused(image(R"({"__metadata__":{"n":1}})"), {"__metadata__ \"n\" is a JSON number", "only strings"});
  expect_refused(image(R"({"__metadata__":["x"]})"), {"__metadata__ is a JSON array, not an object"});
  expect_refused(image(R"({"__metadata__":{"n":{"deep":"x"}}})"), {"__metadata__ \"n\" is a JSON object"});
}

TEST(SafetensorsInvalid, EntryShape) {
  expect_refused(image(R"({"a":[1]})"), {"tensor \"a\": the entry is a JSON array, not an object"});
  expect_refused(image(R"({"a":{"dtype":"F32","shape":[1]}})"), {"tensor \"a\": missing field 'data_offsets'"});
  expect_refused(image(R"({"a":{"dtype":"F32","shape":[1],"data_offsets":[0,4],"x":1}})", zeros(4)),
                 {"tensor \"a\": unknown field \"x\""});
}

TEST(SafetensorsInvalid, UnknownDtype) {
  expect_refused(image(R"({"w":{"dtype":"F8","shape":[1],"data_offsets":[0,1]}})", zeros(1)),
                 {"tensor \"w\": unknown dtype \"F8\""});
  expect_refused(image(R"({"w":{"dtype":"f32","shape":[1],"data_offsets":[0,4]}})", zeros(4)),
                 {"unknown dtype \"f32\""});
  expect_refused(image(R"({"w":{"dtype":7,"shape":[1],"data_offsets":[0,4]}})", zeros(4)),
                 {"dtype is a JSON number, not a string"});
}

TEST(SafetensorsInvalid, ShapeEntries) {
  expect_refused(image("{" + f32("w", "[-1]", 0, 4) + "}", zeros(4)), {"tensor \"w\": shape[0] = -1 is not a non-negative"});
  expect_refused(image("{" + f32("w", "[1,2.0]", 0, 8) + "}", zeros(8)), {"shape[1] = 2.0 is not a non-negative"});
  expect_refused(image("{" + f32("w", "[\"2\"]", 0, 8) + "}", zeros(8)), {"shape[0] = \"2\" is not"});
  expect_refused(image("{" + f32("w", "3", 0, 12) + "}", zeros(12)), {"shape is a JSON number, not an array"});
  expect_refused(image("{" + f32("w", "[[2]]", 0, 8) + "}", zeros(8)), {"nested deeper than 3 levels"});
  expect_refused(image("{" + f32("w", "[18446744073709551616]", 0, 8) + "}", zeros(8)), {"shape[0]"});
}

TEST(SafetensorsInvalid, ElementCountAndByteSizeOverflow) {
  expect_refused(image("{" + f32("w", "[4294967296,4294967296]", 0, 0) + "}"), {"tensor \"w\"", "element count", "overflows"});
  expect_refused(image("{" + f32("w", "[9223372036854775808]", 0, 0) + "}"), {"shape[0] = 9223372036854775808 is too large"});
  // 2^62 elements fit an int64, 2^62 * 32 bits do not fit a uint64.
  expect_refused(image("{" + f32("w", "[4611686018427387904]", 0, 0) + "}"), {"the byte size of 4611686018427387904 x F32 overflows"});
  expect_refused(image(R"({"w":{"dtype":"F4","shape":[3],"data_offsets":[0,1]}})", zeros(1)),
                 {"3 elements of F4 are not a whole number of bytes"});
}

TEST(SafetensorsInvalid, DataOffsetsForm) {
  expect_refused(image(R"({"w":{"dtype":"F32","shape":[1],"data_offsets":[0]}})", zeros(4)),
                 {"tensor \"w\": data_offsets [0] is not two non-negative integers"});
  expect_refused(image(R"({"w":{"dtype":"F32","shape":[1],"data_offsets":[-4,0]}})", zeros(4)), {"data_offsets [-4,0]"});
  expect_refused(image(R"({"w":{"dtype":"F32","shape":[1],"data_offsets":{"a":0}}})", zeros(4)), {"data_offsets"});
  expect_refused(image(R"({"w":{"dtype":"F32","shape":[0],"data_offsets":[4,0]}})", zeros(4)),
                 {"data_offsets [4, 0] end before they begin"});
}

TEST(SafetensorsInvalid, SizeMismatch) {
  expect_refused(image("{" + f32("w", "[2]", 0, 4) + "}", zeros(4)),
                 {"tensor \"w\": data_offsets [0, 4] hold 4 bytes but shape [2] of F32 needs 8"});
}

TEST(SafetensorsInvalid, PastTheEndOfTheData) {
  expect_refused(image("{" + f32("w", "[2]", 0, 8) + "}", zeros(4)),
                 {"tensor \"w\": data_offsets [0, 8] run past the end of the 4-byte data buffer"});
  expect_refused(image("{" + f32("w", "[1]", 18446744073709551612ull, 18446744073709551615ull) + "}", zeros(4)),
                 {"tensor \"w\""});
}

TEST(SafetensorsInvalid, Overlap) {
  const std::string h = "{" + f32("a", "[2]", 0, 8) + "," + f32("b", "[2]", 4, 12) + "}";
  expect_refused(image(h, zeros(12)), {"tensor \"b\" [4, 12] overlaps tensor \"a\" [0, 8]"});
  // An empty tensor inside another one overlaps it too (the reference refuses it as well).
  const std::string e = "{" + f32("a", "[2]", 0, 8) + "," + f32("e", "[0]", 4, 4) + "}";
  expect_refused(image(e, zeros(8)), {"tensor \"e\" [4, 4] overlaps tensor \"a\""});
  // Two tensors on the same bytes.
  const std::string same = "{" + f32("a", "[1]", 0, 4) + "," + f32("b", "[1]", 0, 4) + "}";
  expect_refused(image(same, zeros(4)), {"overlaps"});
}

TEST(SafetensorsInvalid, HolesAndUnindexedBytes) {
  const std::string gap = "{" + f32("a", "[1]", 0, 4) + "," + f32("b", "[1]", 8, 12) + "}";
  expect_refused(image(gap, zeros(12)), {"tensor \"b\" starts at 8 leaving a hole of 4 bytes after tensor \"a\"", "fully indexed"});
  expect_refused(image("{" + f32("a", "[1]", 4, 8) + "}", zeros(8)), {"hole of 4 bytes after the header"});
  expect_refused(image("{" + f32("a", "[1]", 0, 4) + "}", zeros(7)), {"3 bytes at the end of the data buffer belong to no tensor"});
  expect_refused(image("{}", zeros(1)), {"1 bytes at the end"});
}

TEST(SafetensorsInvalid, NamesWithControlCharactersStayOnOneLine) {
  expect_refused(image(R"({"a\nb":{"dtype":"F9","shape":[1],"data_offsets":[0,1]}})", zeros(1)),
                 {"tensor \"a\\nb\": unknown dtype"});
}

TEST(SafetensorsInvalid, EveryTruncationIsRefused) {
  const std::string h = "{" + f32("a", "[2]", 0, 8) + "," + f32("b", "[1]", 8, 12) + "}";
  const auto full = image(h, zeros(12));
  for (size_t len = 0; len < full.size(); ++len) {
    std::vector<uint8_t> cut(full.begin(), full.begin() + static_cast<ptrdiff_t>(len));
    try {
      File::parse(cut.data(), cut.size(), "cut.safetensors");
      ADD_FAILURE() << "a prefix of " << len << " bytes parsed";
    } catch (const Error& e) {
      EXPECT_EQ(std::string(e.what()).rfind("cut.safetensors: ", 0), 0u) << e.what();
    }
  }
}

// ---- FP8 ---------------------------------------------------------------------------

TEST(Fp8, E4M3HandCheckedCodes) {
  struct Case { uint8_t code; float value; };
  // s.eeee.mmm, bias 7: normal (1 + m/8) 2^(e-7), subnormal m 2^-9.
  const Case cases[] = {
      {0x00, 0.0f},        {0x01, 0.001953125f},  // 2^-9
      {0x07, 0.013671875f},                       // 7 * 2^-9
      {0x08, 0.015625f},                          // 2^-6
      {0x0F, 0.029296875f},                       // 1.875 * 2^-6
      {0x30, 0.5f},        {0x38, 1.0f},  {0x39, 1.125f}, {0x3F, 1.875f}, {0x40, 2.0f},
      {0x70, 128.0f},      {0x77, 240.0f}, {0x78, 256.0f}, {0x7E, 448.0f},
      {0xB8, -1.0f},       {0xC4, -3.0f}, {0xFE, -448.0f}, {0x81, -0.001953125f},
  };
  for (const Case& c : cases) EXPECT_EQ(fp8_e4m3_to_float(c.code), c.value) << std::hex << int(c.code);
  EXPECT_EQ(fp8_e4m3_to_float(0x80), 0.0f);
  EXPECT_TRUE(std::signbit(fp8_e4m3_to_float(0x80)));
  EXPECT_FALSE(std::signbit(fp8_e4m3_to_float(0x00)));
  EXPECT_TRUE(std::isnan(fp8_e4m3_to_float(0x7F)));
  EXPECT_TRUE(std::isnan(fp8_e4m3_to_float(0xFF)));
}

// All 256 codes against a second derivation (float bit patterns built directly), plus
// the table's shape: exactly two NaNs, no infinity, sign symmetry, strictly increasing.
TEST(Fp8, E4M3AllCodes) {
  int nans = 0;
  for (int c = 0; c < 256; ++c) {
    const float v = fp8_e4m3_to_float(static_cast<uint8_t>(c));
    EXPECT_FALSE(std::isinf(v)) << c;
    if (std::isnan(v)) {
      ++nans;
      EXPECT_EQ(c & 0x7F, 0x7F) << c;
      continue;
    }
    const uint32_t sign = static_cast<uint32_t>(c & 0x80) << 24, e = (c >> 3) & 0xF, m = c & 7;
    float expect;
    if (e == 0) {
      expect = static_cast<float>(m) / 512.0f;  // exact
      if (sign) expect = -expect;
    } else {
      const uint32_t bits = sign | (e - 7 + 127) << 23 | m << 20;
      std::memcpy(&expect, &bits, 4);
    }
    EXPECT_EQ(v, expect) << c;
    EXPECT_EQ(std::signbit(v), (c & 0x80) != 0) << c;
    if (c < 0x80) {
      EXPECT_EQ(fp8_e4m3_to_float(static_cast<uint8_t>(c | 0x80)), -v) << c;
    }
    if (c > 0 && c < 0x7F) {
      EXPECT_LT(fp8_e4m3_to_float(static_cast<uint8_t>(c - 1)), v) << c;
    }
  }
  EXPECT_EQ(nans, 2);
}

TEST(Fp8, E5M2IsTheUpperByteOfAHalf) {
  EXPECT_EQ(fp8_e5m2_to_float(0x3C), 1.0f);
  EXPECT_EQ(fp8_e5m2_to_float(0x01), 1.0f / 65536.0f);  // 2^-16, the smallest subnormal
  EXPECT_EQ(fp8_e5m2_to_float(0x7B), 57344.0f);
  EXPECT_TRUE(std::isinf(fp8_e5m2_to_float(0x7C)));
  EXPECT_TRUE(std::isnan(fp8_e5m2_to_float(0x7D)));
  EXPECT_EQ(fp8_e5m2_to_float(0xC0), -2.0f);
}

// ---- block-scaled FP8 --------------------------------------------------------------

// A 130 x 260 F8_E4M3 weight: 2 x 3 blocks of 128 x 128, the last row block 2 rows and
// the last column block 4 columns. Code (r * 7 + c * 3) % 126 (never NaN); scale of
// block (i, j) = 2^(3i + j).
std::vector<uint8_t> fp8_image(const std::string& scale_shape, size_t scale_count) {
  const int64_t rows = 130, cols = 260;
  const uint64_t wbytes = rows * cols, sbytes = scale_count * 4;
  const std::string h = R"({"w":{"dtype":"F8_E4M3","shape":[130,260],"data_offsets":[0,)" + std::to_string(wbytes) +
                        "]}," + f32("w_scale_inv", scale_shape, wbytes, wbytes + sbytes) + "}";
  std::vector<uint8_t> data;
  for (int64_t r = 0; r < rows; ++r)
    for (int64_t c = 0; c < cols; ++c) data.push_back(static_cast<uint8_t>((r * 7 + c * 3) % 126));
  for (size_t k = 0; k < scale_count; ++k) {
    const float s = std::ldexp(1.0f, static_cast<int>(k));
    const auto* p = reinterpret_cast<const uint8_t*>(&s);
    data.insert(data.end(), p, p + 4);
  }
  return image(h, data);
}

TEST(Fp8Blocks, DequantizesWithEdgeBlocks) {
  const auto b = fp8_image("[2,3]", 6);
  auto f = parse(b);
  std::vector<float> out(130 * 260);
  dequantize_fp8_blocks(*f->find("w"), *f->find(scale_inv_name("w")), out.data());
  auto at = [&](int r, int c) { return out[static_cast<size_t>(r) * 260 + static_cast<size_t>(c)]; };
  // Hand-computed: code (s.eeee.mmm) -> value, times the scale of its block (i, j) = 2^(3i + j).
  EXPECT_EQ(at(0, 0), 0.0f);            // code 0
  EXPECT_EQ(at(0, 1), 0.005859375f);    // code 3 = 3 * 2^-9; block (0,0) x1
  EXPECT_EQ(at(1, 0), 0.013671875f);    // code 7 = 7 * 2^-9; x1
  EXPECT_EQ(at(0, 3), 0.017578125f);    // code 9 = 0.0001.001 = 1.125 * 2^-6; x1
  EXPECT_EQ(at(127, 127), 0.01953125f); // code 1270 % 126 = 10 = 0.0001.010 = 1.25 * 2^-6; x1
  EXPECT_EQ(at(0, 128), 0.0234375f);    // code 384 % 126 = 6 = 6 * 2^-9; block (0,1) x2
  EXPECT_EQ(at(100, 200), 0.5f);        // code 1300 % 126 = 40 = 0.0101.000 = 2^-2; block (0,1) x2
  EXPECT_EQ(at(5, 257), 2.5f);          // code 806 % 126 = 50 = 0.0110.010 = 1.25 * 2^-1; block (0,2) x4
  EXPECT_EQ(at(128, 0), 0.21875f);      // code 896 % 126 = 14 = 0.0001.110 = 1.75 * 2^-6; block (1,0) x8
  EXPECT_EQ(at(129, 256), 4.5f);        // code 1671 % 126 = 33 = 0.0100.001 = 1.125 * 2^-3; block (1,2) x32
  EXPECT_EQ(at(129, 259), 10.0f);       // code 1680 % 126 = 42 = 0.0101.010 = 1.25 * 2^-2; block (1,2) x32
  // Every element: its code's value times the scale of the block holding it.
  for (int r = 0; r < 130; ++r)
    for (int c = 0; c < 260; ++c) {
      const float v = fp8_e4m3_to_float(static_cast<uint8_t>((r * 7 + c * 3) % 126));
      ASSERT_EQ(at(r, c), v * std::ldexp(1.0f, 3 * (r / 128) + c / 128)) << r << "," << c;
    }
}

// An empty weight with a huge first dimension: ceil(rows / 128) without overflow.
TEST(Fp8Blocks, BlockCountOfAHugeEmptyWeight) {
  const auto b = image(R"({"w":{"dtype":"F8_E4M3","shape":[9223372036854775807,0],"data_offsets":[0,0]},)"
                       R"("w_scale_inv":{"dtype":"F32","shape":[72057594037927936,0],"data_offsets":[0,0]}})");
  auto f = parse(b);
  dequantize_fp8_blocks(*f->find("w"), *f->find("w_scale_inv"), nullptr);  // 2^56 row blocks, nothing to write
}

TEST(Fp8Blocks, ScaleShapeAndDtypeMustMatch) {
  for (const auto& [shape, count] : {std::pair<std::string, size_t>{"[2,2]", 4}, {"[1,3]", 3}, {"[3,2]", 6}}) {
    const auto b = fp8_image(shape, count);
    auto f = parse(b);
    std::vector<float> out(130 * 260);
    try {
      dequantize_fp8_blocks(*f->find("w"), *f->find("w_scale_inv"), out.data());
      ADD_FAILURE() << "scales " << shape << " accepted";
    } catch (const Error& e) {
      const std::string msg = e.what();
      EXPECT_NE(msg.find("tensor \"w_scale_inv\": the scales of \"w\" [130, 260] in 128x128 blocks must be F32 [2, 3]"),
                std::string::npos) << msg;
    }
  }
  const auto b = fp8_image("[2,3]", 6);
  auto f = parse(b);
  float out[6];
  EXPECT_THROW(dequantize_fp8_blocks(*f->find("w_scale_inv"), *f->find("w_scale_inv"), out), Error);  // not FP8
  EXPECT_THROW(dequantize_fp8_blocks(*f->find("w"), *f->find("w_scale_inv"), out, 0), Error);
}

// DeepSeek V3's index names ~91,000 tensors. Parsing must be near-linear: with
// ordered_json (linear key search per insertion) this took ~35 s; it takes well under 1 s.
TEST(SafetensorsIndex, LargeWeightMapParsesQuickly) {
  std::string text = R"({"metadata":{"total_size":1},"weight_map":{)";
  for (int i = 0; i < 100000; ++i)
    text += (i ? ",\"" : "\"") + std::string("model.layers.") + std::to_string(i) + ".weight\":\"m-" +
            std::to_string(i % 163) + ".safetensors\"";
  text += "}}";
  const auto t0 = std::chrono::steady_clock::now();
  const Index idx = parse_index(text, "big.json");
  const double s = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  EXPECT_EQ(idx.weights.size(), 100000u);
  EXPECT_EQ(idx.shards.size(), 163u);
  EXPECT_EQ(idx.shards[idx.weights[0].second].substr(0, 2), "m-");
  EXPECT_LT(s, 10.0);
}

// ---- sharded checkpoints -----------------------------------------------------------

class SafetensorsShards : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = fs::temp_directory_path() /
           ("r1_safetensors_" + std::to_string(::getpid()) + "_" +
            ::testing::UnitTest::GetInstance()->current_test_info()->name());
    fs::remove_all(dir_);
    fs::create_directories(dir_);
  }
  void TearDown() override { fs::remove_all(dir_); }

  void write(const std::string& name, const std::vector<uint8_t>& b) const {
    std::ofstream(dir_ / name, std::ios::binary).write(reinterpret_cast<const char*>(b.data()),
                                                        static_cast<std::streamsize>(b.size()));
  }
  void write(const std::string& name, const std::string& text) const { std::ofstream(dir_ / name) << text; }
  std::string path(const std::string& name = "") const { return (dir_ / name).string(); }

  // Two shards: 1-of-2 holds a (F32 [2] = 1, 2) and b (F32 [1] = 3); 2-of-2 holds c (BF16 [1] = -1).
  void write_two_shards() const {
    write("m-1-of-2.safetensors", image("{" + f32("b", "[1]", 8, 12) + "," + f32("a", "[2]", 0, 8) + "}",
                                        {0, 0, 0x80, 0x3F, 0, 0, 0, 0x40, 0, 0, 0x40, 0x40}));
    write("m-2-of-2.safetensors",
          image(R"({"__metadata__":{"format":"pt"},"c":{"dtype":"BF16","shape":[1],"data_offsets":[0,2]}})",
                {0x80, 0xBF}));
  }
  static std::string index(const std::string& weight_map) {
    return R"({"metadata":{"total_size":14},"weight_map":)" + weight_map + "}";
  }
  static constexpr const char* kGoodMap =
      R"({"a":"m-1-of-2.safetensors","c":"m-2-of-2.safetensors","b":"m-1-of-2.safetensors"})";

  void expect_open_fails(const std::string& p, std::initializer_list<std::string> parts) const {
    try {
      Model::open(p);
      ADD_FAILURE() << p << " opened";
    } catch (const Error& e) {
      for (const std::string& part : parts)
        EXPECT_NE(std::string(e.what()).find(part), std::string::npos) << "'" << part << "' not in: " << e.what();
    }
  }

  fs::path dir_;
};

TEST_F(SafetensorsShards, OneTableOverAllShards) {
  write_two_shards();
  write("model.safetensors.index.json", index(kGoodMap));
  for (const std::string& p : {path(), path("model.safetensors.index.json")}) {
    auto m = Model::open(p);
    EXPECT_EQ(m->index_path(), path("model.safetensors.index.json"));
    EXPECT_EQ(m->index_metadata_json(), R"({"total_size":14})");
    ASSERT_EQ(m->shards().size(), 2u);
    EXPECT_EQ(m->shards()[0]->name(), path("m-1-of-2.safetensors"));
    ASSERT_EQ(m->tensors().size(), 3u);
    EXPECT_EQ(m->tensors()[0].name, "a");
    EXPECT_EQ(m->tensors()[1].name, "b");
    EXPECT_EQ(m->tensors()[2].name, "c");
    EXPECT_EQ(m->tensors()[2].shard, 1u);
    EXPECT_EQ(m->find("b")->shard, 0u);
    EXPECT_EQ(m->read_float("a"), (std::vector<float>{1.0f, 2.0f}));
    EXPECT_EQ(m->read_float("b"), (std::vector<float>{3.0f}));
    EXPECT_EQ(m->read_float("c"), (std::vector<float>{-1.0f}));
    EXPECT_EQ(m->shards()[1]->metadata().at(0).second, "pt");
    EXPECT_THROW(m->read_float("d"), Error);
  }
}

TEST_F(SafetensorsShards, DirectoryWithOneFileAndReadFloatUsesBlockScales) {
  write("model.safetensors", fp8_image("[2,3]", 6));
  write("other.bin", std::string("x"));
  auto m = Model::open(path());
  EXPECT_EQ(m->path(), path("model.safetensors"));
  EXPECT_TRUE(m->index_path().empty());
  const std::vector<float> w = m->read_float("w");
  EXPECT_EQ(w[129 * 260 + 259], 10.0f);  // scaled (the raw code is 0.3125)
  EXPECT_EQ(w[128 * 260 + 0], 0.21875f);
}

TEST_F(SafetensorsShards, DirectoryWithoutAnyOrWithSeveralFiles) {
  expect_open_fails(path(), {"holds no .safetensors file"});
  write_two_shards();
  expect_open_fails(path(), {"holds 2 .safetensors files", "m-1-of-2.safetensors, m-2-of-2.safetensors", "no index"});
}

TEST_F(SafetensorsShards, ShardNamesMustBePlainFileNames) {
  write_two_shards();
  for (const char* bad : {"../m-1-of-2.safetensors", "sub/m.safetensors", "/etc/passwd", "..", ".", "", "a\\\\b", "a\\nb", "a\\u0000b"}) {
    write("model.safetensors.index.json",
          index(std::string(R"({"a":")") + bad + R"(","b":"m-1-of-2.safetensors","c":"m-2-of-2.safetensors"})"));
    expect_open_fails(path(), {"weight_map \"a\" names shard", "not a plain file name"});
  }
}

TEST_F(SafetensorsShards, IndexAndShardsMustAgree) {
  write_two_shards();
  write("model.safetensors.index.json", index(R"({"a":"m-1-of-2.safetensors","c":"m-2-of-2.safetensors"})"));
  expect_open_fails(path(), {"m-1-of-2.safetensors: tensor \"b\" is not in the index"});
  write("model.safetensors.index.json",
        index(R"({"a":"m-1-of-2.safetensors","b":"m-2-of-2.safetensors","c":"m-2-of-2.safetensors"})"));
  expect_open_fails(path(), {"m-1-of-2.safetensors: tensor \"b\" is in shard \"m-2-of-2.safetensors\" in the index"});
  write("model.safetensors.index.json",
        index(R"({"a":"m-1-of-2.safetensors","b":"m-1-of-2.safetensors","c":"m-2-of-2.safetensors",)"
              R"("d":"m-2-of-2.safetensors"})"));
  expect_open_fails(path(), {"the index places tensor \"d\" in shard \"m-2-of-2.safetensors\", which does not hold it"});
  write("model.safetensors.index.json", index(R"({"a":"m-1-of-2.safetensors","b":"m-1-of-2.safetensors",)"
                                              R"("c":"m-3-of-2.safetensors"})"));
  expect_open_fails(path(), {"cannot open", "m-3-of-2.safetensors"});
}

TEST_F(SafetensorsShards, IndexForm) {
  write_two_shards();
  const std::string idx = path("model.safetensors.index.json");
  auto with = [&](const std::string& text) {
    write("model.safetensors.index.json", text);
    return idx;
  };
  expect_open_fails(with("[1]"), {idx, "the index is a JSON array, not an object"});
  expect_open_fails(with("{}"), {"has no \"weight_map\""});
  expect_open_fails(with(R"({"weight_map":[]})"), {"weight_map is a JSON array, not an object"});
  expect_open_fails(with(R"({"weight_map":{"a":1}})"), {"weight_map \"a\" is a JSON number, not a shard file name"});
  expect_open_fails(with(R"({"weight_map":{"a":"x","a":"y"}})"), {"duplicate key \"a\""});
  expect_open_fails(with(R"({"metadata":3,"weight_map":{}})"), {"metadata is a JSON number"});
  expect_open_fails(with(R"({"weight_map":)"), {"not valid JSON"});
  expect_open_fails(path("nothing.safetensors.index.json"), {"cannot open"});
  // An empty weight map is a model with no tensors (and no shard is opened).
  auto m = Model::open(with(R"({"weight_map":{}})"));
  EXPECT_TRUE(m->tensors().empty());
  EXPECT_TRUE(m->shards().empty());
}

TEST_F(SafetensorsShards, FileErrorsNameTheShard) {
  write("model.safetensors", image("{" + f32("a", "[2]", 0, 4) + "}", zeros(4)));
  expect_open_fails(path(), {path("model.safetensors") + ": tensor \"a\": data_offsets [0, 4] hold 4 bytes"});
}

}  // namespace
}  // namespace r1::safetensors
