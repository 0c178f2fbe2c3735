// Scalar reference kernels (internal to the kernels layer). Every SIMD variant has
// the same signature as its reference here and is tested against it.
// Signatures follow types.hpp: ToFloatFn, FromFloatFn, VecDotFn. n is the element
// count and must be a multiple of the type's block size (asserted, not checked).
#pragma once
#include <cstdint>

namespace r1::kernels {

// ---- to_float (dequantization) ----
void to_float_f32(const void* src, float* dst, int64_t n);
void to_float_f16(const void* src, float* dst, int64_t n);
void to_float_bf16(const void* src, float* dst, int64_t n);
void to_float_q4_0(const void* src, float* dst, int64_t n);
void to_float_q4_1(const void* src, float* dst, int64_t n);
void to_float_q5_0(const void* src, float* dst, int64_t n);
void to_float_q5_1(const void* src, float* dst, int64_t n);
void to_float_q8_0(const void* src, float* dst, int64_t n);
void to_float_q8_1(const void* src, float* dst, int64_t n);
void to_float_q2_k(const void* src, float* dst, int64_t n);
void to_float_q3_k(const void* src, float* dst, int64_t n);
void to_float_q4_k(const void* src, float* dst, int64_t n);
void to_float_q5_k(const void* src, float* dst, int64_t n);
void to_float_q6_k(const void* src, float* dst, int64_t n);
void to_float_q8_k(const void* src, float* dst, int64_t n);
void to_float_iq2_xxs(const void* src, float* dst, int64_t n);
void to_float_iq2_xs(const void* src, float* dst, int64_t n);
void to_float_iq2_s(const void* src, float* dst, int64_t n);
void to_float_iq3_xxs(const void* src, float* dst, int64_t n);
void to_float_iq3_s(const void* src, float* dst, int64_t n);
void to_float_iq1_s(const void* src, float* dst, int64_t n);
void to_float_iq1_m(const void* src, float* dst, int64_t n);
void to_float_iq4_nl(const void* src, float* dst, int64_t n);
void to_float_iq4_xs(const void* src, float* dst, int64_t n);

// ---- from_float (quantization) ----
// Weight quantizers reproduce llama.cpp's deterministic reference quantizers
// (quantize_row_*_ref, what llama-quantize uses without an importance matrix).
// The activation quantizers Q8_0 / Q8_1 reproduce what llama.cpp's x86 CPU backend
// does at run time (d = amax / 127 stored as fp16, multiplier 127 / amax, rounding to
// nearest even); Q8_K is llama.cpp's reference (used by every CPU backend).
void from_float_f32(const float* src, void* dst, int64_t n);
void from_float_f16(const float* src, void* dst, int64_t n);
void from_float_bf16(const float* src, void* dst, int64_t n);
void from_float_q4_0(const float* src, void* dst, int64_t n);
void from_float_q4_1(const float* src, void* dst, int64_t n);
void from_float_q5_0(const float* src, void* dst, int64_t n);
void from_float_q5_1(const float* src, void* dst, int64_t n);
void from_float_q8_0(const float* src, void* dst, int64_t n);
void from_float_q8_1(const float* src, void* dst, int64_t n);
void from_float_q2_k(const float* src, void* dst, int64_t n);
void from_float_q3_k(const float* src, void* dst, int64_t n);
void from_float_q4_k(const float* src, void* dst, int64_t n);
void from_float_q5_k(const float* src, void* dst, int64_t n);
void from_float_q6_k(const float* src, void* dst, int64_t n);
void from_float_q8_k(const float* src, void* dst, int64_t n);

// ---- vec_dot (weight row . activation row in the weight's vec_dot_type) ----
// Integer sums are exact; per-block scale products are accumulated in float (f32 /
// f16 / bf16 accumulate in double).
float vec_dot_f32(int64_t n, const void* x, const void* y);
float vec_dot_f16(int64_t n, const void* x, const void* y);
float vec_dot_bf16(int64_t n, const void* x, const void* y);
float vec_dot_q4_0_q8_0(int64_t n, const void* x, const void* y);
float vec_dot_q4_1_q8_1(int64_t n, const void* x, const void* y);
float vec_dot_q5_0_q8_0(int64_t n, const void* x, const void* y);
float vec_dot_q5_1_q8_1(int64_t n, const void* x, const void* y);
float vec_dot_q8_0_q8_0(int64_t n, const void* x, const void* y);
float vec_dot_q2_k_q8_k(int64_t n, const void* x, const void* y);
float vec_dot_q3_k_q8_k(int64_t n, const void* x, const void* y);
float vec_dot_q4_k_q8_k(int64_t n, const void* x, const void* y);
float vec_dot_q5_k_q8_k(int64_t n, const void* x, const void* y);
float vec_dot_q6_k_q8_k(int64_t n, const void* x, const void* y);
// i-quants (quants_iq.cpp): no quantizer here (files come quantized); IQ4_NL pairs with
// Q8_0 activations, the others with Q8_K.
float vec_dot_iq2_xxs_q8_k(int64_t n, const void* x, const void* y);
float vec_dot_iq2_xs_q8_k(int64_t n, const void* x, const void* y);
float vec_dot_iq2_s_q8_k(int64_t n, const void* x, const void* y);
float vec_dot_iq3_xxs_q8_k(int64_t n, const void* x, const void* y);
float vec_dot_iq3_s_q8_k(int64_t n, const void* x, const void* y);
float vec_dot_iq1_s_q8_k(int64_t n, const void* x, const void* y);
float vec_dot_iq1_m_q8_k(int64_t n, const void* x, const void* y);
float vec_dot_iq4_nl_q8_0(int64_t n, const void* x, const void* y);
float vec_dot_iq4_xs_q8_k(int64_t n, const void* x, const void* y);

}  // namespace r1::kernels
