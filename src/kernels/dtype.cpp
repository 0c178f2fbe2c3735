// Names, block sizes and half-precision conversions for every GGML type id.
#include <cctype>
#include <cstring>
#include <string>

#include "kernels/types.hpp"

namespace r1 {

namespace {

struct DTypeInfo {
  DType type;
  const char* name;
  int64_t block_size;
  size_t block_bytes;
};

// Block layouts (bytes per block) as in ggml: see docs/formats.md.
constexpr DTypeInfo kInfo[] = {
    {DType::F32, "f32", 1, 4},          {DType::F16, "f16", 1, 2},
    {DType::Q4_0, "q4_0", 32, 18},      {DType::Q4_1, "q4_1", 32, 20},
    {DType::Q5_0, "q5_0", 32, 22},      {DType::Q5_1, "q5_1", 32, 24},
    {DType::Q8_0, "q8_0", 32, 34},      {DType::Q8_1, "q8_1", 32, 36},
    {DType::Q2_K, "q2_k", 256, 84},     {DType::Q3_K, "q3_k", 256, 110},
    {DType::Q4_K, "q4_k", 256, 144},    {DType::Q5_K, "q5_k", 256, 176},
    {DType::Q6_K, "q6_k", 256, 210},    {DType::Q8_K, "q8_k", 256, 292},
    {DType::IQ2_XXS, "iq2_xxs", 256, 66}, {DType::IQ2_XS, "iq2_xs", 256, 74},
    {DType::IQ3_XXS, "iq3_xxs", 256, 98}, {DType::IQ1_S, "iq1_s", 256, 50},
    {DType::IQ4_NL, "iq4_nl", 32, 18},  {DType::IQ3_S, "iq3_s", 256, 110},
    {DType::IQ2_S, "iq2_s", 256, 82},   {DType::IQ4_XS, "iq4_xs", 256, 136},
    {DType::IQ1_M, "iq1_m", 256, 56},
    {DType::I8, "i8", 1, 1},            {DType::I16, "i16", 1, 2},
    {DType::I32, "i32", 1, 4},          {DType::I64, "i64", 1, 8},
    {DType::F64, "f64", 1, 8},          {DType::BF16, "bf16", 1, 2},
};

const DTypeInfo* info(DType t) {
  for (const auto& i : kInfo)
    if (i.type == t) return &i;
  return nullptr;
}

}  // namespace

std::string_view dtype_name(DType type) {
  if (const auto* i = info(type)) return i->name;
  thread_local std::string buf;
  buf = "type " + std::to_string(static_cast<uint32_t>(type));
  return buf;
}

bool parse_dtype(std::string_view name, DType* out) {
  std::string lower(name);
  for (auto& c : lower) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  for (const auto& i : kInfo) {
    if (lower == i.name) {
      *out = i.type;
      return true;
    }
  }
  return false;
}

bool is_known_dtype(uint32_t raw) { return info(static_cast<DType>(raw)) != nullptr; }

int64_t dtype_block_size(DType type) {
  const auto* i = info(type);
  return i ? i->block_size : 0;
}

size_t dtype_block_bytes(DType type) {
  const auto* i = info(type);
  return i ? i->block_bytes : 0;
}

size_t row_bytes(DType type, int64_t n) {
  const auto* i = info(type);
  if (!i || n < 0 || n % i->block_size != 0) return 0;
  return static_cast<size_t>(n / i->block_size) * i->block_bytes;
}

float fp16_to_fp32(uint16_t h) {
  const uint32_t sign = static_cast<uint32_t>(h & 0x8000u) << 16;
  uint32_t exp = (h >> 10) & 0x1Fu;
  uint32_t mant = h & 0x3FFu;
  uint32_t bits;
  if (exp == 0) {
    if (mant == 0) {
      bits = sign;
    } else {  // subnormal: normalise
      int e = -1;
      do {
        ++e;
        mant <<= 1;
      } while ((mant & 0x400u) == 0);
      bits = sign | static_cast<uint32_t>(127 - 15 - e) << 23 | (mant & 0x3FFu) << 13;
    }
  } else if (exp == 31) {
    bits = sign | 0x7F800000u | mant << 13;
  } else {
    bits = sign | (exp + 127 - 15) << 23 | mant << 13;
  }
  float f;
  std::memcpy(&f, &bits, 4);
  return f;
}

uint16_t fp32_to_fp16(float f) {
  uint32_t x;
  std::memcpy(&x, &f, 4);
  const uint32_t sign = (x >> 16) & 0x8000u;
  const uint32_t abs = x & 0x7FFFFFFFu;
  if (abs > 0x7F800000u) return static_cast<uint16_t>(sign | 0x7E00u);  // NaN
  if (abs >= 0x477FF000u) return static_cast<uint16_t>(sign | 0x7C00u);  // overflow -> inf
  if (abs < 0x38800000u) {  // result is subnormal or zero
    if (abs < 0x33000000u) return static_cast<uint16_t>(sign);  // below half the smallest subnormal
    const uint32_t e = abs >> 23;
    const uint32_t m = (abs & 0x7FFFFFu) | 0x800000u;
    const uint32_t shift = 126 - e;  // 14..24 (value = m * 2^(e-150), target unit 2^-24)
    uint32_t q = m >> shift;
    const uint32_t rem = m & ((1u << shift) - 1);
    const uint32_t half = 1u << (shift - 1);
    if (rem > half || (rem == half && (q & 1u))) ++q;
    return static_cast<uint16_t>(sign | q);
  }
  // normal: rebias exponent, round mantissa to 10 bits (nearest even)
  uint32_t h = ((abs >> 13) - ((127 - 15) << 10));
  const uint32_t rem = abs & 0x1FFFu;
  if (rem > 0x1000u || (rem == 0x1000u && (h & 1u))) ++h;  // may carry into exponent: correct
  return static_cast<uint16_t>(sign | h);
}

float bf16_to_fp32(uint16_t h) {
  uint32_t bits = static_cast<uint32_t>(h) << 16;
  float f;
  std::memcpy(&f, &bits, 4);
  return f;
}

uint16_t fp32_to_bf16(float f) {
  uint32_t x;
  std::memcpy(&x, &f, 4);
  if ((x & 0x7FFFFFFFu) > 0x7F800000u) return static_cast<uint16_t>((x >> 16) | 0x40u);  // quiet NaN
  x += 0x7FFFu + ((x >> 16) & 1u);
  return static_cast<uint16_t>(x >> 16);
}

}  // namespace r1
