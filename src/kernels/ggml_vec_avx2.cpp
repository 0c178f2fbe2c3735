// AVX2 + FMA forms of ggml_vec.hpp. The exp below performs, lane by lane, exactly the
// operations of ggml_order.cpp's expf_8 / expf_16 (same constants, same fused
// multiply-adds); lanes outside the range where the vector result is that function's
// (|n| > 126 for the 8-lane form, n outside [-126, 127] for the 16-lane one) are redone
// with the scalar ggml_expf. No standard-library templates here: see quant_util.hpp.
#include <immintrin.h>

#include <cmath>
#include <cstdint>

#include "kernels/ggml_order.hpp"
#include "kernels/ggml_vec.hpp"

namespace r1::kernels {

namespace {

// ggml_expf(x, lanes) for 8 floats; lanes that need the scalar path are patched.
inline __m256 expf8(__m256 x, int lanes) {
  const __m256 r = _mm256_set1_ps(0x1.8p23f);
  const __m256 z = _mm256_fmadd_ps(x, _mm256_set1_ps(0x1.715476p+0f), r);
  const __m256 n = _mm256_sub_ps(z, r);
  const __m256 b = _mm256_fnmadd_ps(n, _mm256_set1_ps(0x1.7f7d1cp-20f),
                                    _mm256_fnmadd_ps(n, _mm256_set1_ps(0x1.62e4p-1f), x));
  const __m256 u = _mm256_mul_ps(b, b);
  const __m256 hi = _mm256_fmadd_ps(_mm256_fmadd_ps(_mm256_set1_ps(0x1.0e4020p-7f), b, _mm256_set1_ps(0x1.573e2ep-5f)), u,
                                    _mm256_fmadd_ps(_mm256_set1_ps(0x1.555e66p-3f), b, _mm256_set1_ps(0x1.fffdb6p-2f)));
  __m256 out, bad;
  if (lanes == 16) {
    const __m256 j = _mm256_fmadd_ps(hi, u, _mm256_fmadd_ps(_mm256_set1_ps(0x1.ffffecp-1f), b, _mm256_set1_ps(1.0f)));
    const __m256i ni = _mm256_cvttps_epi32(n);  // n is integral here
    const __m256 scale = _mm256_castsi256_ps(_mm256_slli_epi32(_mm256_add_epi32(ni, _mm256_set1_epi32(127)), 23));
    out = _mm256_mul_ps(j, scale);
    bad = _mm256_or_ps(_mm256_cmp_ps(n, _mm256_set1_ps(-126.0f), _CMP_LT_OQ),
                       _mm256_cmp_ps(n, _mm256_set1_ps(127.0f), _CMP_GT_OQ));
  } else {
    const __m256 j = _mm256_fmadd_ps(hi, u, _mm256_mul_ps(_mm256_set1_ps(0x1.ffffecp-1f), b));
    const __m256i e = _mm256_slli_epi32(_mm256_castps_si256(z), 23);
    const __m256 k = _mm256_castsi256_ps(_mm256_add_epi32(e, _mm256_castps_si256(_mm256_set1_ps(1.0f))));
    out = _mm256_fmadd_ps(j, k, k);
    bad = _mm256_cmp_ps(_mm256_andnot_ps(_mm256_set1_ps(-0.0f), n), _mm256_set1_ps(126.0f), _CMP_NGT_UQ);
    bad = _mm256_xor_ps(bad, _mm256_castsi256_ps(_mm256_set1_epi32(-1)));  // !(|n| <= 126): also NaN
  }
  const int mask = _mm256_movemask_ps(bad);
  if (mask) {
    alignas(32) float xs[8], os[8];
    _mm256_store_ps(xs, x);
    _mm256_store_ps(os, out);
    for (int i = 0; i < 8; ++i)
      if (mask >> i & 1) os[i] = ggml_expf(xs[i], lanes);
    out = _mm256_load_ps(os);
  }
  return out;
}

}  // namespace

void ggml_expf_shifted_avx2(float* p, int64_t n, float shift, int lanes) {
  const __m256 s = _mm256_set1_ps(shift);
  int64_t j = 0;
  for (; j + 8 <= n; j += 8) _mm256_storeu_ps(p + j, expf8(_mm256_sub_ps(_mm256_loadu_ps(p + j), s), lanes));
  for (; j < n; ++j) p[j] = ggml_expf(p[j] - shift, lanes);
}

void ggml_swiglu_avx2(const float* gate, const float* up, int64_t n, float* out, int lanes) {
  const int64_t nv = n - n % lanes;
  const __m256 one = _mm256_set1_ps(1.0f), zero = _mm256_setzero_ps();
  int64_t i = 0;
  for (; i + 8 <= nv; i += 8) {
    const __m256 g = _mm256_loadu_ps(gate + i);
    const __m256 silu = _mm256_div_ps(g, _mm256_add_ps(one, expf8(_mm256_sub_ps(zero, g), lanes)));
    _mm256_storeu_ps(out + i, _mm256_mul_ps(silu, _mm256_loadu_ps(up + i)));
  }
  for (; i < nv; ++i) out[i] = ggml_silu(gate[i], lanes) * up[i];
  for (; i < n; ++i) {
    const float g = gate[i];
    out[i] = g / (1.0f + std::exp(-g)) * up[i];
  }
}

}  // namespace r1::kernels
