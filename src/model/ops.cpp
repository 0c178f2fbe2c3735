#include "model/ops.hpp"

#include <cmath>

#include "kernels/ggml_order.hpp"
#include "kernels/ggml_vec.hpp"
#include "model/blocks/backprop.hpp"

namespace r1::ops {

void rms_norm(const float* x, const float* w, int64_t n, float eps, float* out) {
  // llama.cpp squares in float and accumulates the squares in double (ggml_float).
  double sum = 0;
  for (int64_t i = 0; i < n; ++i) sum += static_cast<double>(x[i] * x[i]);
  const float scale = 1.0f / std::sqrt(static_cast<float>(sum / n) + eps);
  if (w) {
    for (int64_t i = 0; i < n; ++i) out[i] = x[i] * scale * w[i];
  } else {
    for (int64_t i = 0; i < n; ++i) out[i] = x[i] * scale;
  }
}

void swiglu(const float* gate, const float* up, int64_t n, float* out) {
  // ggml_vec_swiglu_f32: ggml_v_silu on whole vectors, libm expf on the n % lanes tail.
  ggml_swiglu(gate, up, n, out, ggml_lanes());
}

void add_inplace(float* y, const float* x, int64_t n) {
  for (int64_t i = 0; i < n; ++i) y[i] += x[i];
}

}  // namespace r1::ops

namespace r1::train {

using namespace detail;

// ---------------------------------------------------------------- embedding

template <class T>
void embedding_forward(T* out, const int32_t* ids, const T* table, int64_t n, int64_t dim) {
  for (int64_t t = 0; t < n; ++t) std::copy(table + ids[t] * dim, table + (ids[t] + 1) * dim, out + t * dim);
}

template <class T>
void embedding_backward(T* dtable, const T* dout, const int32_t* ids, int64_t n, int64_t dim) {
  for (int64_t t = 0; t < n; ++t) add_inplace(dtable + ids[t] * dim, dout + t * dim, dim);
}

// ---------------------------------------------------------------- rmsnorm

template <class T>
void rmsnorm_forward(T* out, T* rstd, const T* x, const T* w, int64_t n, int64_t dim, float eps, ThreadPool* pool) {
  for_rows(pool, n, [&](int64_t t0, int64_t t1) {
    for (int64_t t = t0; t < t1; ++t) {
      const T* xr = x + t * dim;
      double ss = 0;
      for (int64_t i = 0; i < dim; ++i) ss += static_cast<double>(xr[i]) * xr[i];
      const T r = static_cast<T>(1.0 / std::sqrt(ss / static_cast<double>(dim) + eps));
      rstd[t] = r;
      T* o = out + t * dim;
      for (int64_t i = 0; i < dim; ++i) o[i] = xr[i] * r * w[i];
    }
  });
}

template <class T>
void rmsnorm_backward(T* dx, T* dw, const T* dout, const T* x, const T* w, const T* rstd, int64_t n, int64_t dim,
                      ThreadPool* pool) {
  // y_i = x_i r w_i, r = (mean x^2 + eps)^-1/2, dr/dx_j = -r^3 x_j / dim
  // dx_j = r w_j g_j - r^3 x_j / dim * sum_i g_i w_i x_i
  const int64_t n_chunks = (n + kReduceChunk - 1) / kReduceChunk;
  std::vector<T> partial(static_cast<size_t>(n_chunks * dim), T(0));
  for_rows(pool, n_chunks, [&](int64_t c0, int64_t c1) {
    for (int64_t c = c0; c < c1; ++c) {
      T* pw = partial.data() + c * dim;
      for (int64_t t = c * kReduceChunk; t < std::min(n, (c + 1) * kReduceChunk); ++t) {
        const T* g = dout + t * dim;
        const T* xr = x + t * dim;
        const T r = rstd[t];
        T dot_gwx = 0;
        for (int64_t i = 0; i < dim; ++i) dot_gwx += g[i] * w[i] * xr[i];
        const T k = r * r * r * dot_gwx / static_cast<T>(dim);
        T* d = dx + t * dim;
        for (int64_t i = 0; i < dim; ++i) {
          d[i] += r * w[i] * g[i] - k * xr[i];
          pw[i] += g[i] * xr[i] * r;
        }
      }
    }
  });
  for_rows(pool, dim, [&](int64_t i0, int64_t i1) {
    for (int64_t c = 0; c < n_chunks; ++c)
      for (int64_t i = i0; i < i1; ++i) dw[i] += partial[static_cast<size_t>(c * dim + i)];
  });
}

// ---------------------------------------------------------------- swiglu

template <class T>
void swiglu_forward(T* out, const T* gate, const T* up, int64_t n) {
  for (int64_t i = 0; i < n; ++i) {
    const T g = gate[i];
    out[i] = g / (T(1) + std::exp(-g)) * up[i];
  }
}

template <class T>
void swiglu_backward(T* dgate, T* dup, const T* dout, const T* gate, const T* up, int64_t n) {
  for (int64_t i = 0; i < n; ++i) {
    const T g = gate[i];
    const T sig = T(1) / (T(1) + std::exp(-g));
    const T silu = g * sig;
    dup[i] += dout[i] * silu;
    dgate[i] += dout[i] * up[i] * sig * (T(1) + g * (T(1) - sig));
  }
}

// ---------------------------------------------------------------- log-probabilities

template <class T>
void logprob_forward(T* logits, T* logp, const int32_t* targets, int64_t n, int64_t V, ThreadPool* pool) {
  for_rows(pool, n, [&](int64_t t0, int64_t t1) {
    for (int64_t t = t0; t < t1; ++t) {
      T* l = logits + t * V;
      T mx = l[0];
      for (int64_t v = 1; v < V; ++v) mx = std::max(mx, l[v]);
      double sum = 0;
      for (int64_t v = 0; v < V; ++v) sum += std::exp(static_cast<double>(l[v] - mx));
      const int32_t y = targets[t];
      logp[t] = y >= 0 ? static_cast<T>(static_cast<double>(l[y] - mx) - std::log(sum)) : T(0);
      const T inv = static_cast<T>(1.0 / sum);
      for (int64_t v = 0; v < V; ++v) l[v] = std::exp(l[v] - mx) * inv;
    }
  });
}

template <class T>
void logprob_backward(T* dlogits, const T* probs, const T* dlogp, const int32_t* targets, int64_t n, int64_t V,
                      ThreadPool* pool) {
  for_rows(pool, n, [&](int64_t t0, int64_t t1) {
    for (int64_t t = t0; t < t1; ++t) {
      T* d = dlogits + t * V;
      const T* p = probs + t * V;
      const int32_t y = targets[t];
      if (y < 0) {
        std::fill(d, d + V, T(0));
        continue;
      }
      const T g = dlogp[t];
      for (int64_t v = 0; v < V; ++v) d[v] = -g * p[v];
      d[y] += g;
    }
  });
}

template <class T>
void add_inplace(T* y, const T* x, int64_t n) {
  for (int64_t i = 0; i < n; ++i) y[i] += x[i];
}

#define R1_OPS_TRAIN(T) \
  template void embedding_forward<T>(T*, const int32_t*, const T*, int64_t, int64_t); \
  template void embedding_backward<T>(T*, const T*, const int32_t*, int64_t, int64_t); \
  template void rmsnorm_forward<T>(T*, T*, const T*, const T*, int64_t, int64_t, float, ThreadPool*); \
  template void rmsnorm_backward<T>(T*, T*, const T*, const T*, const T*, const T*, int64_t, int64_t, ThreadPool*); \
  template void swiglu_forward<T>(T*, const T*, const T*, int64_t); \
  template void swiglu_backward<T>(T*, T*, const T*, const T*, const T*, int64_t); \
  template void logprob_forward<T>(T*, T*, const int32_t*, int64_t, int64_t, ThreadPool*); \
  template void logprob_backward<T>(T*, const T*, const T*, const int32_t*, int64_t, int64_t, ThreadPool*); \
  template void add_inplace<T>(T*, const T*, int64_t);;

R1_OPS_TRAIN(float)
R1_OPS_TRAIN(double)

#undef R1_OPS_TRAIN

}  // namespace r1::train
