// AVX2/F16C conversions and activation quantizers. Each produces exactly the bytes of
// its scalar reference (quants_legacy.cpp, quants_k.cpp); tests check that.
// No standard-library templates here: see quant_util.hpp on why.
#include <cassert>
#include <cstring>

#include "kernels/blocks.hpp"
#include "kernels/kernels_avx2.hpp"
#include "kernels/simd_avx2.hpp"

namespace r1::kernels {

void to_float_f16_avx2(const void* src, float* dst, int64_t n) {
  const auto* h = static_cast<const uint16_t*>(src);
  int64_t i = 0;
  for (; i + 8 <= n; i += 8)
    _mm256_storeu_ps(dst + i, _mm256_cvtph_ps(_mm_loadu_si128(reinterpret_cast<const __m128i*>(h + i))));
  for (; i < n; ++i) dst[i] = half_to_float_f16c(h[i]);
}

void from_float_f16_avx2(const float* src, void* dst, int64_t n) {
  auto* h = static_cast<uint16_t*>(dst);
  int64_t i = 0;
  for (; i + 8 <= n; i += 8)
    _mm_storeu_si128(reinterpret_cast<__m128i*>(h + i),
                     _mm256_cvtps_ph(_mm256_loadu_ps(src + i), _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC));
  for (; i < n; ++i) h[i] = float_to_half_f16c(src[i]);
}

namespace {

// One 32-element block: d = amax/127, q = round_half_even(x * (127/amax)) saturated to
// int8. Returns d (unrounded) and the sum of the quants.
inline float quantize_q8_block_avx2(const float* x, int8_t* qs, int* sum) {
  __m256 v[4];
  __m256 m = _mm256_setzero_ps();
  for (int k = 0; k < 4; ++k) {
    v[k] = _mm256_loadu_ps(x + 8 * k);
    m = _mm256_max_ps(m, abs_ps(v[k]));
  }
  const float amax = max_abs_ps(m);
  const float d = amax / 127.f;
  const __m256 mul = _mm256_set1_ps(amax != 0.f ? 127.f / amax : 0.f);
  __m256i q[4];
  for (int k = 0; k < 4; ++k)
    q[k] = _mm256_cvtps_epi32(
        _mm256_round_ps(_mm256_mul_ps(v[k], mul), _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC));
  // Values are within [-127, 127] for finite input, so the int32 sum equals the sum
  // of the saturated bytes.
  *sum = hsum_epi32(_mm256_add_epi32(_mm256_add_epi32(q[0], q[1]), _mm256_add_epi32(q[2], q[3])));
  _mm256_storeu_si256(reinterpret_cast<__m256i*>(qs), pack_i32x4_to_i8(q[0], q[1], q[2], q[3]));
  return d;
}

}  // namespace

void from_float_q8_0_avx2(const float* src, void* dst, int64_t n) {
  assert(n % kQK == 0);
  auto* b = static_cast<BlockQ8_0*>(dst);
  for (int64_t i = 0; i < n / kQK; ++i) {
    int sum;
    b[i].d = float_to_half_f16c(quantize_q8_block_avx2(src + i * kQK, b[i].qs, &sum));
  }
}

void from_float_q8_1_avx2(const float* src, void* dst, int64_t n) {
  assert(n % kQK == 0);
  auto* b = static_cast<BlockQ8_1*>(dst);
  for (int64_t i = 0; i < n / kQK; ++i) {
    int sum;
    const float d = quantize_q8_block_avx2(src + i * kQK, b[i].qs, &sum);
    b[i].d = float_to_half_f16c(d);
    b[i].s = float_to_half_f16c(d * static_cast<float>(sum));
  }
}

// Same as the scalar Q8_K: iscale = -127/max with max the signed value of largest
// magnitude (first one on ties), q = min(127, round_half_even(iscale * x)), d = 1/iscale.
void from_float_q8_k_avx2(const float* src, void* dst, int64_t n) {
  assert(n % kQK_K == 0);
  auto* b = static_cast<BlockQ8_K*>(dst);
  for (int64_t i = 0; i < n / kQK_K; ++i) {
    const float* x = src + i * kQK_K;
    __m256 m = _mm256_setzero_ps();
    for (int k = 0; k < kQK_K; k += 8) m = _mm256_max_ps(m, abs_ps(_mm256_loadu_ps(x + k)));
    const float amax = max_abs_ps(m);
    if (amax == 0.f) {
      std::memset(&b[i], 0, sizeof(BlockQ8_K));
      continue;
    }
    // First element whose magnitude equals amax.
    const __m256 target = _mm256_set1_ps(amax);
    float max = 0.f;
    for (int k = 0; k < kQK_K; k += 8) {
      const int mask = _mm256_movemask_ps(_mm256_cmp_ps(abs_ps(_mm256_loadu_ps(x + k)), target, _CMP_EQ_OQ));
      if (mask) {
        max = x[k + __builtin_ctz(static_cast<unsigned>(mask))];
        break;
      }
    }
    const float iscale = -127.f / max;
    const __m256 mul = _mm256_set1_ps(iscale);
    const __m256i top = _mm256_set1_epi32(127);
    for (int k = 0; k < kQK_K; k += 32) {
      __m256i q[4];
      for (int j = 0; j < 4; ++j) {
        const __m256 v = _mm256_mul_ps(_mm256_loadu_ps(x + k + 8 * j), mul);
        q[j] = _mm256_min_epi32(
            _mm256_cvtps_epi32(_mm256_round_ps(v, _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC)), top);
      }
      b[i].bsums[k / 16] = static_cast<int16_t>(hsum_epi32(_mm256_add_epi32(q[0], q[1])));
      b[i].bsums[k / 16 + 1] = static_cast<int16_t>(hsum_epi32(_mm256_add_epi32(q[2], q[3])));
      _mm256_storeu_si256(reinterpret_cast<__m256i*>(b[i].qs + k), pack_i32x4_to_i8(q[0], q[1], q[2], q[3]));
    }
    b[i].d = 1.f / iscale;
  }
}

}  // namespace r1::kernels
