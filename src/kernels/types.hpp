// Tensor element types and the per-type traits table.
// The numeric values of DType are GGML's (they are stored in GGUF files), and every
// block layout is bit-compatible with llama.cpp's.
//
// Contract for the traits functions (n = number of elements, a multiple of block_size):
//   to_float(src, dst, n)     dequantize n elements
//   from_float(src, dst, n)   quantize n elements (nullptr where no quantizer exists)
//   vec_dot(n, x, y)          dot product of a row of this type with a row of
//                             vec_dot_type (the activation format it pairs with)
// Each function pointer in the table is the best variant for the running CPU; the
// scalar references stay callable through reference_traits() for tests.
#pragma once
#include <cstddef>
#include <cstdint>
#include <string_view>

namespace r1 {

enum class DType : uint32_t {
  F32 = 0,
  F16 = 1,
  Q4_0 = 2,
  Q4_1 = 3,
  Q5_0 = 6,
  Q5_1 = 7,
  Q8_0 = 8,
  Q8_1 = 9,
  Q2_K = 10,
  Q3_K = 11,
  Q4_K = 12,
  Q5_K = 13,
  Q6_K = 14,
  Q8_K = 15,
  IQ2_XXS = 16,
  IQ2_XS = 17,
  IQ3_XXS = 18,
  IQ1_S = 19,
  IQ4_NL = 20,
  IQ3_S = 21,
  IQ2_S = 22,
  IQ4_XS = 23,
  I8 = 24,
  I16 = 25,
  I32 = 26,
  I64 = 27,
  F64 = 28,
  IQ1_M = 29,
  BF16 = 30,
};

using ToFloatFn = void (*)(const void* src, float* dst, int64_t n);
using FromFloatFn = void (*)(const float* src, void* dst, int64_t n);
using VecDotFn = float (*)(int64_t n, const void* x, const void* y);

struct TypeTraits {
  DType type;
  const char* name;        // lower-case GGML name: "f32", "q4_k", ...
  int64_t block_size;      // elements per block (1 for plain types)
  size_t block_bytes;      // bytes per block
  bool quantized;
  ToFloatFn to_float;      // nullptr for integer types
  FromFloatFn from_float;  // nullptr where no quantizer is provided
  DType vec_dot_type;      // activation format for vec_dot
  VecDotFn vec_dot;        // nullptr where the type cannot be a weight
};

// Traits of a type this build can compute with; nullptr for unknown or unsupported
// values (callers turn that into an error naming the tensor).
const TypeTraits* find_traits(DType type);
// Same, but throws r1::Error for an unsupported type.
const TypeTraits& traits(DType type);
// Scalar reference implementations (same signatures), for tests and fallback.
const TypeTraits* find_reference_traits(DType type);

// Name of any GGML type value, including ones this build cannot compute with
// ("type 42" for values it has never heard of).
std::string_view dtype_name(DType type);
// Parses a name like "q4_k" or "F16" (case-insensitive); returns false if unknown.
bool parse_dtype(std::string_view name, DType* out);
// True if `raw` is a GGML type id that this build knows the block size of.
bool is_known_dtype(uint32_t raw);
// Elements per block / bytes per block for any known type (including I8..F64).
int64_t dtype_block_size(DType type);
size_t dtype_block_bytes(DType type);
// Bytes of n elements (n must be a multiple of the block size; returns 0 otherwise).
size_t row_bytes(DType type, int64_t n);

// Scalar half-precision helpers (IEEE binary16 and bfloat16, round-to-nearest-even).
float fp16_to_fp32(uint16_t h);
uint16_t fp32_to_fp16(float f);
float bf16_to_fp32(uint16_t h);
uint16_t fp32_to_bf16(float f);

}  // namespace r1
