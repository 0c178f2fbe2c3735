// AVX2 + FMA + F16C kernels (defined in *_avx2.cpp, compiled with -mavx2 -mfma -mf16c).
// Same signatures and contracts as their scalar references in kernels_ref.hpp; call
// only when isa_available(Isa::kAvx2). Results: quantizers are bit-identical to the
// scalar ones; dot products differ only by float summation order.
#pragma once
#include <cstdint>

namespace r1::kernels {

// ---- conversions / activation quantizers ----
void to_float_f16_avx2(const void* src, float* dst, int64_t n);
void from_float_f16_avx2(const float* src, void* dst, int64_t n);
void from_float_q8_0_avx2(const float* src, void* dst, int64_t n);
void from_float_q8_1_avx2(const float* src, void* dst, int64_t n);
void from_float_q8_k_avx2(const float* src, void* dst, int64_t n);

// ---- dot products ----
float vec_dot_f32_avx2(int64_t n, const void* x, const void* y);
float vec_dot_f16_avx2(int64_t n, const void* x, const void* y);
float vec_dot_bf16_avx2(int64_t n, const void* x, const void* y);
float vec_dot_q4_0_q8_0_avx2(int64_t n, const void* x, const void* y);
float vec_dot_q4_1_q8_1_avx2(int64_t n, const void* x, const void* y);
float vec_dot_q5_0_q8_0_avx2(int64_t n, const void* x, const void* y);
float vec_dot_q5_1_q8_1_avx2(int64_t n, const void* x, const void* y);
float vec_dot_q8_0_q8_0_avx2(int64_t n, const void* x, const void* y);
float vec_dot_q2_k_q8_k_avx2(int64_t n, const void* x, const void* y);
float vec_dot_q3_k_q8_k_avx2(int64_t n, const void* x, const void* y);
float vec_dot_q4_k_q8_k_avx2(int64_t n, const void* x, const void* y);
float vec_dot_q5_k_q8_k_avx2(int64_t n, const void* x, const void* y);
float vec_dot_q6_k_q8_k_avx2(int64_t n, const void* x, const void* y);
// i-quants (vec_dot_iq_avx2.cpp)
float vec_dot_iq2_xxs_q8_k_avx2(int64_t n, const void* x, const void* y);
float vec_dot_iq2_xs_q8_k_avx2(int64_t n, const void* x, const void* y);
float vec_dot_iq2_s_q8_k_avx2(int64_t n, const void* x, const void* y);
float vec_dot_iq3_xxs_q8_k_avx2(int64_t n, const void* x, const void* y);
float vec_dot_iq3_s_q8_k_avx2(int64_t n, const void* x, const void* y);
float vec_dot_iq1_s_q8_k_avx2(int64_t n, const void* x, const void* y);
float vec_dot_iq1_m_q8_k_avx2(int64_t n, const void* x, const void* y);
float vec_dot_iq4_nl_q8_0_avx2(int64_t n, const void* x, const void* y);
float vec_dot_iq4_xs_q8_k_avx2(int64_t n, const void* x, const void* y);

}  // namespace r1::kernels
