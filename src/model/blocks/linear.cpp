#include "model/blocks/linear.hpp"

#include "model/blocks/backprop.hpp"
#include "model/ops.hpp"

namespace r1::train {

using namespace detail;

// ---------------------------------------------------------------- matmul

template <class T>
void matmul_forward(T* out, const T* x, const T* w, const T* b, int64_t n, int64_t C, int64_t OC, ThreadPool* pool) {
  if constexpr (std::is_same_v<T, float>) {
    if (pool) {
      matmul(f32_view(w, OC, C), x, C, n, out, OC, *pool);
      if (b)
        for (int64_t t = 0; t < n; ++t) add_inplace(out + t * OC, b, OC);
      return;
    }
  }
  // Scalar reference (double, and float without a pool).
  for (int64_t t = 0; t < n; ++t)
    for (int64_t o = 0; o < OC; ++o) {
      T s = b ? b[o] : T(0);
      const T* xr = x + t * C;
      const T* wr = w + o * C;
      for (int64_t c = 0; c < C; ++c) s += xr[c] * wr[c];
      out[t * OC + o] = s;
    }
}

template <class T>
void matmul_backward(T* dx, T* dw, T* db, const T* dout, const T* x, const T* w, int64_t n, int64_t C, int64_t OC,
                     ThreadPool* pool, MatmulScratch* scratch) {
  if (db)
    for_rows(pool, OC, [&](int64_t o0, int64_t o1) {
      for (int64_t t = 0; t < n; ++t)
        for (int64_t o = o0; o < o1; ++o) db[o] += dout[t * OC + o];
    });
  if constexpr (std::is_same_v<T, float>) {
    if (pool) {
      // Both products as row-times-row dot products on transposed copies.
      MatmulScratch local;
      MatmulScratch& s = scratch ? *scratch : local;
      auto fit = [](std::vector<float>& v, int64_t size) {
        if (v.size() < static_cast<size_t>(size)) v.resize(static_cast<size_t>(size));
        return v.data();
      };
      if (dx) {
        float* wt = fit(s.a, C * OC);
        float* tmp = fit(s.c, n * C);
        transpose(wt, w, OC, C, OC, pool);  // (C, OC)
        matmul(f32_view(wt, C, OC), dout, OC, n, tmp, C, *pool);
        for_rows(pool, n, [&](int64_t t0, int64_t t1) { add_inplace(dx + t0 * C, tmp + t0 * C, (t1 - t0) * C); });
      }
      // Token rows padded with zeros to a multiple of 16, so the kernels take their
      // tiled path (a zero column adds nothing to the sums).
      const int64_t np = (n + 15) / 16 * 16;
      float* xt = fit(s.a, C * np);
      float* dt = fit(s.b, OC * np);
      float* tmp = fit(s.c, OC * C);
      transpose(xt, x, n, C, np, pool);     // (C, np)
      transpose(dt, dout, n, OC, np, pool);  // (OC, np)
      matmul(f32_view(xt, C, np), dt, np, OC, tmp, C, *pool);  // tmp[o, c]
      for_rows(pool, OC, [&](int64_t o0, int64_t o1) { add_inplace(dw + o0 * C, tmp + o0 * C, (o1 - o0) * C); });
      return;
    }
  }
  for (int64_t t = 0; t < n; ++t)
    for (int64_t o = 0; o < OC; ++o) {
      const T g = dout[t * OC + o];
      if (dx) axpy(dx + t * C, g, w + o * C, C);
      axpy(dw + o * C, g, x + t * C, C);
    }
}

#define R1_LINEAR_TRAIN(T) \
  template void matmul_forward<T>(T*, const T*, const T*, const T*, int64_t, int64_t, int64_t, ThreadPool*); \
  template void matmul_backward<T>(T*, T*, T*, const T*, const T*, const T*, int64_t, int64_t, int64_t, ThreadPool*, MatmulScratch*);

R1_LINEAR_TRAIN(float)
R1_LINEAR_TRAIN(double)

#undef R1_LINEAR_TRAIN

}  // namespace r1::train
