// F16 x F16 and F32 x F32 matrix products in llama.cpp's float order (see ggml_order.hpp).
// Compiled with -mavx2 -mfma -mf16c. Every output is one fixed chain of fused
// multiply-adds and additions, identical to ggml-cpu's for the chosen width:
//  - tinyBLAS (llamafile/sgemm.cpp): acc = 0; for l in steps of L: acc = fma(w[l..], x[l..], acc)
//    (an L-lane vector), then hsum(acc). L = 16 is two 8-lane halves here, which is the same
//    lane-wise arithmetic as one 16-lane register.
//  - ggml_vec_dot_f16/_f32 (vec.cpp + simd-mappings.h): 4 L-lane accumulators, one per
//    L-wide slice of each 4L-element step; acc0 += acc2, acc1 += acc3, acc0 += acc1; then
//    the 16-lane build reduces with _mm512_reduce_add_ps (= ggml_hsum) and the 8-lane build
//    with GGML_F32x8_REDUCE (lo + hi, then two hadds). The k % 4L tail is added after the
//    reduction: in double for F16 (converted product), in float with an FMA for F32.
// No standard-library templates here: see quant_util.hpp on why.
#include <immintrin.h>

#include "kernels/ggml_order.hpp"

namespace r1::kernels {

namespace {

// Loads 8 elements as floats.
struct HalfLoad {
  using T = uint16_t;
  static __m256 load(const uint16_t* p) { return _mm256_cvtph_ps(_mm_loadu_si128(reinterpret_cast<const __m128i*>(p))); }
  static float one(const uint16_t* p) { return _cvtsh_ss(*p); }
};
struct FloatLoad {
  using T = float;
  static __m256 load(const float* p) { return _mm256_loadu_ps(p); }
  static float one(const float* p) { return *p; }
};

// tinyBLAS / _mm512_reduce_add_ps order on 8 lanes: (hi + lo) to 4, then (q0 + q2) + (q1 + q3).
inline float hsum8(__m256 v) {
  __m128 q = _mm_add_ps(_mm256_extractf128_ps(v, 1), _mm256_castps256_ps128(v));
  q = _mm_add_ps(q, _mm_movehl_ps(q, q));
  q = _mm_add_ss(q, _mm_movehdup_ps(q));
  return _mm_cvtss_f32(q);
}

// GGML_F32x8_REDUCE's last step: lo + hi to 4, then (t0 + t1) + (t2 + t3) via two hadds.
inline float hsum8_hadd(__m256 v) {
  const __m128 t0 = _mm_add_ps(_mm256_castps256_ps128(v), _mm256_extractf128_ps(v, 1));
  const __m128 t1 = _mm_hadd_ps(t0, t0);
  return _mm_cvtss_f32(_mm_hadd_ps(t1, t1));
}

// Four outputs (rows w0..w3 against one activation row x), tinyBLAS order.
template <class L, int kLanes>
inline void tiled4(int64_t k, const typename L::T* w, int64_t ldw, const typename L::T* x, float* y) {
  __m256 lo[4], hi[4];
  for (int i = 0; i < 4; ++i) lo[i] = hi[i] = _mm256_setzero_ps();
  for (int64_t l = 0; l < k; l += kLanes) {
    const __m256 x0 = L::load(x + l);
    for (int i = 0; i < 4; ++i) lo[i] = _mm256_fmadd_ps(L::load(w + i * ldw + l), x0, lo[i]);
    if (kLanes == 16) {
      const __m256 x1 = L::load(x + l + 8);
      for (int i = 0; i < 4; ++i) hi[i] = _mm256_fmadd_ps(L::load(w + i * ldw + l + 8), x1, hi[i]);
    }
  }
  for (int i = 0; i < 4; ++i) y[i] = hsum8(kLanes == 16 ? _mm256_add_ps(hi[i], lo[i]) : lo[i]);
}

template <class L, int kLanes>
inline float tiled1(int64_t k, const typename L::T* w, const typename L::T* x) {
  __m256 lo = _mm256_setzero_ps(), hi = _mm256_setzero_ps();
  for (int64_t l = 0; l < k; l += kLanes) {
    lo = _mm256_fmadd_ps(L::load(w + l), L::load(x + l), lo);
    if (kLanes == 16) hi = _mm256_fmadd_ps(L::load(w + l + 8), L::load(x + l + 8), hi);
  }
  return hsum8(kLanes == 16 ? _mm256_add_ps(hi, lo) : lo);
}

// ggml_vec_dot order. Returns the reduced vector part; *tail_from is where the tail starts.
template <class L, int kLanes>
inline float vec_dot_body(int64_t k, const typename L::T* w, const typename L::T* x, int64_t* tail_from) {
  constexpr int kStep = 4 * kLanes;
  const int64_t np = k - k % kStep;
  __m256 lo[4], hi[4];
  for (int j = 0; j < 4; ++j) lo[j] = hi[j] = _mm256_setzero_ps();
  for (int64_t i = 0; i < np; i += kStep) {
    for (int j = 0; j < 4; ++j) {
      const int64_t o = i + j * kLanes;
      lo[j] = _mm256_fmadd_ps(L::load(w + o), L::load(x + o), lo[j]);
      if (kLanes == 16) hi[j] = _mm256_fmadd_ps(L::load(w + o + 8), L::load(x + o + 8), hi[j]);
    }
  }
  *tail_from = np;
  lo[0] = _mm256_add_ps(lo[0], lo[2]);
  lo[1] = _mm256_add_ps(lo[1], lo[3]);
  lo[0] = _mm256_add_ps(lo[0], lo[1]);
  if (kLanes == 16) {
    hi[0] = _mm256_add_ps(hi[0], hi[2]);
    hi[1] = _mm256_add_ps(hi[1], hi[3]);
    hi[0] = _mm256_add_ps(hi[0], hi[1]);
    return hsum8(_mm256_add_ps(hi[0], lo[0]));
  }
  return hsum8_hadd(lo[0]);
}

template <int kLanes>
inline float vec_dot_f16(int64_t k, const uint16_t* w, const uint16_t* x) {
  int64_t i = 0;
  double sum = vec_dot_body<HalfLoad, kLanes>(k, w, x, &i);
  for (; i < k; ++i) {
    const float p = _mm_cvtss_f32(_mm_mul_ss(_mm_set_ss(_cvtsh_ss(w[i])), _mm_set_ss(_cvtsh_ss(x[i]))));
    sum += static_cast<double>(p);
  }
  return static_cast<float>(sum);
}

template <int kLanes>
inline float vec_dot_f32(int64_t k, const float* w, const float* x) {
  int64_t i = 0;
  float sum = vec_dot_body<FloatLoad, kLanes>(k, w, x, &i);
  for (; i < k; ++i) sum = _mm_cvtss_f32(_mm_fmadd_ss(_mm_set_ss(w[i]), _mm_set_ss(x[i]), _mm_set_ss(sum)));
  return sum;
}

// Output rows computed together against every token (the tile stays in cache).
constexpr int64_t kRowTile = 16;

template <class L, int kLanes>
void gemm(int64_t k, const typename L::T* W, int64_t ldw, int64_t r_begin, int64_t r_end, const typename L::T* X,
          int64_t ldx, int64_t n_tokens, float* Y, int64_t ldy, bool tiled) {
  for (int64_t r0 = r_begin; r0 < r_end; r0 += kRowTile) {
    const int64_t r1 = r0 + kRowTile < r_end ? r0 + kRowTile : r_end;
    for (int64_t t = 0; t < n_tokens; ++t) {
      const typename L::T* x = X + t * ldx;
      float* y = Y + t * ldy;
      int64_t r = r0;
      if (tiled) {
        for (; r + 4 <= r1; r += 4) tiled4<L, kLanes>(k, W + r * ldw, ldw, x, y + r);
        for (; r < r1; ++r) y[r] = tiled1<L, kLanes>(k, W + r * ldw, x);
      } else {
        for (; r < r1; ++r) {
          if constexpr (sizeof(typename L::T) == 2)
            y[r] = vec_dot_f16<kLanes>(k, W + r * ldw, x);
          else
            y[r] = vec_dot_f32<kLanes>(k, W + r * ldw, x);
        }
      }
    }
  }
}

}  // namespace

void ggml_gemm_f16_avx2(int64_t k, const uint16_t* W, int64_t ldw, int64_t r_begin, int64_t r_end,
                        const uint16_t* X, int64_t ldx, int64_t n_tokens, float* Y, int64_t ldy, int lanes,
                        bool tiled) {
  if (lanes == 16)
    gemm<HalfLoad, 16>(k, W, ldw, r_begin, r_end, X, ldx, n_tokens, Y, ldy, tiled);
  else
    gemm<HalfLoad, 8>(k, W, ldw, r_begin, r_end, X, ldx, n_tokens, Y, ldy, tiled);
}

void ggml_gemm_f32_avx2(int64_t k, const float* W, int64_t ldw, int64_t r_begin, int64_t r_end, const float* X,
                        int64_t ldx, int64_t n_tokens, float* Y, int64_t ldy, int lanes, bool tiled) {
  if (lanes == 16)
    gemm<FloatLoad, 16>(k, W, ldw, r_begin, r_end, X, ldx, n_tokens, Y, ldy, tiled);
  else
    gemm<FloatLoad, 8>(k, W, ldw, r_begin, r_end, X, ldx, n_tokens, Y, ldy, tiled);
}

}  // namespace r1::kernels
