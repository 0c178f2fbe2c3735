// AVX2/FMA/F16C dot products. Same contracts as vec_dot_ref.cpp: integer parts are
// exact, scales are applied in float; only the float summation order differs.
// No standard-library templates here: see quant_util.hpp on why.
#include <cassert>
#include <cstring>

#include "kernels/blocks.hpp"
#include "kernels/ggml_order.hpp"
#include "kernels/kernels_avx2.hpp"
#include "kernels/quant_util.hpp"
#include "kernels/simd_avx2.hpp"

namespace r1::kernels {

// ---------------------------------------------------------------- plain floats

float vec_dot_f32_avx2(int64_t n, const void* vx, const void* vy) {
  const auto* x = static_cast<const float*>(vx);
  const auto* y = static_cast<const float*>(vy);
  __m256 acc[4] = {_mm256_setzero_ps(), _mm256_setzero_ps(), _mm256_setzero_ps(), _mm256_setzero_ps()};
  int64_t i = 0;
  for (; i + 32 <= n; i += 32)
    for (int k = 0; k < 4; ++k)
      acc[k] = _mm256_fmadd_ps(_mm256_loadu_ps(x + i + 8 * k), _mm256_loadu_ps(y + i + 8 * k), acc[k]);
  for (; i + 8 <= n; i += 8) acc[0] = _mm256_fmadd_ps(_mm256_loadu_ps(x + i), _mm256_loadu_ps(y + i), acc[0]);
  float sum = hsum_ps(_mm256_add_ps(_mm256_add_ps(acc[0], acc[1]), _mm256_add_ps(acc[2], acc[3])));
  for (; i < n; ++i) sum += x[i] * y[i];
  return sum;
}

float vec_dot_f16_avx2(int64_t n, const void* vx, const void* vy) {
  const auto* x = static_cast<const uint16_t*>(vx);
  const auto* y = static_cast<const uint16_t*>(vy);
  auto load = [](const uint16_t* p) { return _mm256_cvtph_ps(_mm_loadu_si128(reinterpret_cast<const __m128i*>(p))); };
  __m256 acc[4] = {_mm256_setzero_ps(), _mm256_setzero_ps(), _mm256_setzero_ps(), _mm256_setzero_ps()};
  int64_t i = 0;
  for (; i + 32 <= n; i += 32)
    for (int k = 0; k < 4; ++k) acc[k] = _mm256_fmadd_ps(load(x + i + 8 * k), load(y + i + 8 * k), acc[k]);
  for (; i + 8 <= n; i += 8) acc[0] = _mm256_fmadd_ps(load(x + i), load(y + i), acc[0]);
  float sum = hsum_ps(_mm256_add_ps(_mm256_add_ps(acc[0], acc[1]), _mm256_add_ps(acc[2], acc[3])));
  for (; i < n; ++i) sum += half_to_float_f16c(x[i]) * half_to_float_f16c(y[i]);
  return sum;
}

float vec_dot_bf16_avx2(int64_t n, const void* vx, const void* vy) {
  const auto* x = static_cast<const uint16_t*>(vx);
  const auto* y = static_cast<const uint16_t*>(vy);
  auto load = [](const uint16_t* p) {
    const __m256i w = _mm256_cvtepu16_epi32(_mm_loadu_si128(reinterpret_cast<const __m128i*>(p)));
    return _mm256_castsi256_ps(_mm256_slli_epi32(w, 16));
  };
  __m256 acc[4] = {_mm256_setzero_ps(), _mm256_setzero_ps(), _mm256_setzero_ps(), _mm256_setzero_ps()};
  int64_t i = 0;
  for (; i + 32 <= n; i += 32)
    for (int k = 0; k < 4; ++k) acc[k] = _mm256_fmadd_ps(load(x + i + 8 * k), load(y + i + 8 * k), acc[k]);
  for (; i + 8 <= n; i += 8) acc[0] = _mm256_fmadd_ps(load(x + i), load(y + i), acc[0]);
  float sum = hsum_ps(_mm256_add_ps(_mm256_add_ps(acc[0], acc[1]), _mm256_add_ps(acc[2], acc[3])));
  for (; i < n; ++i) sum += bits_to_float(uint32_t{x[i]} << 16) * bits_to_float(uint32_t{y[i]} << 16);
  return sum;
}

// ---------------------------------------------------------------- legacy blocks

float vec_dot_q8_0_q8_0_avx2(int64_t n, const void* vx, const void* vy) {
  assert(n % kQK == 0);
  const auto* x = static_cast<const BlockQ8_0*>(vx);
  const auto* y = static_cast<const BlockQ8_0*>(vy);
  __m256 acc = _mm256_setzero_ps();
  for (int64_t i = 0; i < n / kQK; ++i) {
    const __m256 d = _mm256_set1_ps(half_to_float_f16c(x[i].d) * half_to_float_f16c(y[i].d));
    const __m256i qx = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(x[i].qs));
    const __m256i qy = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(y[i].qs));
    acc = _mm256_fmadd_ps(d, _mm256_cvtepi32_ps(dot_i8_to_i32(qx, qy)), acc);
  }
  return hsum_ps(acc);
}

float vec_dot_q4_0_q8_0_avx2(int64_t n, const void* vx, const void* vy) {
  assert(n % kQK == 0);
  const auto* x = static_cast<const BlockQ4_0*>(vx);
  const auto* y = static_cast<const BlockQ8_0*>(vy);
  const __m256i eight = _mm256_set1_epi8(8);
  auto block = [&](int64_t i, __m256 acc) {
    const __m256 d = _mm256_set1_ps(half_to_float_f16c(x[i].d) * half_to_float_f16c(y[i].d));
    const __m256i qx = _mm256_sub_epi8(unpack_nibbles_32(x[i].qs), eight);
    const __m256i qy = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(y[i].qs));
    return _mm256_fmadd_ps(d, _mm256_cvtepi32_ps(dot_i8_to_i32(qx, qy)), acc);
  };
  // One accumulator, blocks in order: the float order of ggml_vec_dot_q4_0_q8_0 and of
  // llamafile's tinyBLAS_Q0_AVX (lanes = sums of 4 adjacent products, then hsum).
  __m256 acc = _mm256_setzero_ps();
  for (int64_t i = 0; i < n / kQK; ++i) acc = block(i, acc);
  return hsum_ps(acc);
}

// ggml's repacked q4_0_8x8 kernels (AVX2 CPUs, weights with rows % 8 == 0): per block the
// exact integer dot, then one scalar-order FMA: acc = fma(float(I), d_x * d_y, acc).
float vec_dot_q4_0_q8_0_repack_avx2(int64_t n, const void* vx, const void* vy) {
  assert(n % kQK == 0);
  const auto* x = static_cast<const BlockQ4_0*>(vx);
  const auto* y = static_cast<const BlockQ8_0*>(vy);
  const __m256i eight = _mm256_set1_epi8(8);
  __m128 acc = _mm_setzero_ps();
  for (int64_t i = 0; i < n / kQK; ++i) {
    const __m256i qx = _mm256_sub_epi8(unpack_nibbles_32(x[i].qs), eight);
    const __m256i qy = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(y[i].qs));
    const float d = half_to_float_f16c(x[i].d) * half_to_float_f16c(y[i].d);
    acc = _mm_fmadd_ss(_mm_cvtsi32_ss(_mm_setzero_ps(), hsum_epi32(dot_i8_to_i32(qx, qy))), _mm_set_ss(d), acc);
  }
  return _mm_cvtss_f32(acc);
}

// sum_j (d_x q_j + m_x) d_y p_j = d_x d_y (q . p) + m_x s_y  (s_y = d_y sum p, stored)
float vec_dot_q4_1_q8_1_avx2(int64_t n, const void* vx, const void* vy) {
  assert(n % kQK == 0);
  const auto* x = static_cast<const BlockQ4_1*>(vx);
  const auto* y = static_cast<const BlockQ8_1*>(vy);
  __m256 acc = _mm256_setzero_ps();
  float min_sum = 0;
  for (int64_t i = 0; i < n / kQK; ++i) {
    const __m256 d = _mm256_set1_ps(half_to_float_f16c(x[i].d) * half_to_float_f16c(y[i].d));
    const __m256i qx = unpack_nibbles_32(x[i].qs);  // 0..15: unsigned operand of maddubs
    const __m256i qy = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(y[i].qs));
    const __m256i dot = _mm256_madd_epi16(_mm256_maddubs_epi16(qx, qy), _mm256_set1_epi16(1));
    acc = _mm256_fmadd_ps(d, _mm256_cvtepi32_ps(dot), acc);
    min_sum += half_to_float_f16c(x[i].m) * half_to_float_f16c(y[i].s);
  }
  return hsum_ps(acc) + min_sum;
}

float vec_dot_q5_0_q8_0_avx2(int64_t n, const void* vx, const void* vy) {
  assert(n % kQK == 0);
  const auto* x = static_cast<const BlockQ5_0*>(vx);
  const auto* y = static_cast<const BlockQ8_0*>(vy);
  const __m256i bit4 = _mm256_set1_epi8(0x10), sixteen = _mm256_set1_epi8(16);
  __m256 acc = _mm256_setzero_ps();
  for (int64_t i = 0; i < n / kQK; ++i) {
    const __m256 d = _mm256_set1_ps(half_to_float_f16c(x[i].d) * half_to_float_f16c(y[i].d));
    const __m256i high = _mm256_and_si256(expand_bits_32(x[i].qh), bit4);
    const __m256i qx = _mm256_sub_epi8(_mm256_or_si256(unpack_nibbles_32(x[i].qs), high), sixteen);
    const __m256i qy = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(y[i].qs));
    acc = _mm256_fmadd_ps(d, _mm256_cvtepi32_ps(dot_i8_to_i32(qx, qy)), acc);
  }
  return hsum_ps(acc);
}

float vec_dot_q5_1_q8_1_avx2(int64_t n, const void* vx, const void* vy) {
  assert(n % kQK == 0);
  const auto* x = static_cast<const BlockQ5_1*>(vx);
  const auto* y = static_cast<const BlockQ8_1*>(vy);
  const __m256i bit4 = _mm256_set1_epi8(0x10);
  __m256 acc = _mm256_setzero_ps();
  float min_sum = 0;
  for (int64_t i = 0; i < n / kQK; ++i) {
    const __m256 d = _mm256_set1_ps(half_to_float_f16c(x[i].d) * half_to_float_f16c(y[i].d));
    const __m256i high = _mm256_and_si256(expand_bits_32(x[i].qh), bit4);
    const __m256i qx = _mm256_or_si256(unpack_nibbles_32(x[i].qs), high);  // 0..31
    const __m256i qy = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(y[i].qs));
    const __m256i dot = _mm256_madd_epi16(_mm256_maddubs_epi16(qx, qy), _mm256_set1_epi16(1));
    acc = _mm256_fmadd_ps(d, _mm256_cvtepi32_ps(dot), acc);
    min_sum += half_to_float_f16c(x[i].m) * half_to_float_f16c(y[i].s);
  }
  return hsum_ps(acc) + min_sum;
}

}  // namespace r1::kernels
