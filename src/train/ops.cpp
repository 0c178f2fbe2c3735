#include "train/ops.hpp"

#include <algorithm>
#include <cassert>
#include <cmath>
#include <type_traits>

#include "base/thread_pool.hpp"
#include "kernels/matmul.hpp"
#include "kernels/types.hpp"

namespace r1::train {

namespace {

// Calls fn(begin, end) over [0, n) split across the pool (or once, serially).
template <class F>
void for_rows(ThreadPool* pool, int64_t n, F&& fn, int64_t grain = 1) {
  if (!pool) {
    if (n > 0) fn(int64_t{0}, n);
    return;
  }
  pool->parallel_for(n, [&](int64_t b, int64_t e, int) { fn(b, e); }, grain);
}

template <class T>
T dot(const T* a, const T* b, int64_t n) {
  if constexpr (std::is_same_v<T, float>) {
    static const VecDotFn f32_dot = traits(DType::F32).vec_dot;  // AVX2 when the CPU has it
    return f32_dot(n, a, b);
  } else {
    T s = 0;
    for (int64_t i = 0; i < n; ++i) s += a[i] * b[i];
    return s;
  }
}

template <class T>
void axpy(T* y, T a, const T* x, int64_t n) {
  for (int64_t i = 0; i < n; ++i) y[i] += a * x[i];
}

// Transposes src (rows, cols) into dst (cols, ld): dst[c * ld + r] = src[r * cols + c];
// columns r in [rows, ld) of dst are set to zero.
void transpose(float* dst, const float* src, int64_t rows, int64_t cols, int64_t ld, ThreadPool* pool) {
  constexpr int64_t B = 32;
  for_rows(pool, (cols + B - 1) / B, [&](int64_t b0, int64_t b1) {
    for (int64_t cb = b0 * B; cb < std::min(cols, b1 * B); cb += B) {
      for (int64_t rb = 0; rb < rows; rb += B)
        for (int64_t c = cb; c < std::min(cols, cb + B); ++c)
          for (int64_t r = rb; r < std::min(rows, rb + B); ++r) dst[c * ld + r] = src[r * cols + c];
      for (int64_t c = cb; c < std::min(cols, cb + B); ++c) std::fill(dst + c * ld + rows, dst + (c + 1) * ld, 0.0f);
    }
  });
}

WeightView f32_view(const float* data, int64_t rows, int64_t cols) {
  WeightView w;
  w.type = DType::F32;
  w.rows = rows;
  w.cols = cols;
  w.row_stride = static_cast<size_t>(cols) * sizeof(float);
  w.data = data;
  w.name = "train";
  return w;
}

// Rows per chunk of a parameter-gradient reduction: fixed, so sums do not depend
// on the thread count.
constexpr int64_t kReduceChunk = 32;

}  // namespace

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

// ---------------------------------------------------------------- rope

RopeTable::RopeTable(int64_t rope_dim_, int64_t max_pos_, float base, RopeStyle style_)
    : rope_dim(rope_dim_), max_pos(max_pos_), style(style_) {
  const int64_t half = rope_dim / 2;
  cos.resize(static_cast<size_t>(max_pos * half));
  sin.resize(cos.size());
  for (int64_t p = 0; p < max_pos; ++p)
    for (int64_t i = 0; i < half; ++i) {
      const double theta =
          static_cast<double>(p) * std::pow(static_cast<double>(base), -2.0 * i / static_cast<double>(rope_dim));
      cos[static_cast<size_t>(p * half + i)] = static_cast<float>(std::cos(theta));
      sin[static_cast<size_t>(p * half + i)] = static_cast<float>(std::sin(theta));
    }
}

namespace {
template <class T>
void rope_rotate(T* x, const int32_t* pos, int64_t n, int64_t n_head, int64_t head_dim, const RopeTable& rt,
                 T sign) {
  const int64_t half = rt.rope_dim / 2;
  for (int64_t t = 0; t < n; ++t) {
    assert(pos[t] >= 0 && pos[t] < rt.max_pos);
    const float* cs = rt.cos.data() + pos[t] * half;
    const float* sn = rt.sin.data() + pos[t] * half;
    for (int64_t h = 0; h < n_head; ++h) {
      T* v = x + (t * n_head + h) * head_dim;
      for (int64_t i = 0; i < half; ++i) {
        const int64_t a = rt.style == RopeStyle::normal ? 2 * i : i;
        const int64_t b = rt.style == RopeStyle::normal ? 2 * i + 1 : i + half;
        const T c = cs[i], s = sign * static_cast<T>(sn[i]);
        const T x0 = v[a], x1 = v[b];
        v[a] = x0 * c - x1 * s;
        v[b] = x0 * s + x1 * c;
      }
    }
  }
}
}  // namespace

template <class T>
void rope_forward(T* x, const int32_t* pos, int64_t n, int64_t n_head, int64_t head_dim, const RopeTable& rt) {
  rope_rotate(x, pos, n, n_head, head_dim, rt, T(1));
}

template <class T>
void rope_backward(T* dx, const int32_t* pos, int64_t n, int64_t n_head, int64_t head_dim, const RopeTable& rt) {
  rope_rotate(dx, pos, n, n_head, head_dim, rt, T(-1));  // rotation matrices are orthogonal: R^T = R(-theta)
}

// ---------------------------------------------------------------- attention

size_t attn_probs_size(const int64_t* seq_start, int64_t n_seq, int64_t n_head) {
  size_t total = 0;
  for (int64_t s = 0; s < n_seq; ++s) {
    const auto len = static_cast<size_t>(seq_start[s + 1] - seq_start[s]);
    total += len * len;
  }
  return total * static_cast<size_t>(n_head);
}

namespace {
// Offsets of each sequence's probability block (n_head * len * len floats).
std::vector<size_t> probs_offsets(const int64_t* seq_start, int64_t n_seq, int64_t n_head) {
  std::vector<size_t> off(static_cast<size_t>(n_seq) + 1, 0);
  for (int64_t s = 0; s < n_seq; ++s) {
    const auto len = static_cast<size_t>(seq_start[s + 1] - seq_start[s]);
    off[static_cast<size_t>(s) + 1] = off[static_cast<size_t>(s)] + len * len * static_cast<size_t>(n_head);
  }
  return off;
}
}  // namespace

template <class T>
void attention_forward(T* out, T* probs, const T* q, const T* k, const T* v, const int64_t* seq_start,
                       int64_t n_seq, const AttnShape& sh, ThreadPool* pool) {
  const int64_t HD = sh.head_dim, qd = sh.n_head * HD, kvd = sh.n_head_kv * HD, grp = sh.n_head / sh.n_head_kv;
  const T scale = static_cast<T>(1.0 / std::sqrt(static_cast<double>(HD)));
  const std::vector<size_t> off = probs_offsets(seq_start, n_seq, sh.n_head);
  for_rows(pool, n_seq * sh.n_head, [&](int64_t w0, int64_t w1) {
    for (int64_t w = w0; w < w1; ++w) {
      const int64_t s = w / sh.n_head, h = w % sh.n_head, kh = h / grp;
      const int64_t r0 = seq_start[s], len = seq_start[s + 1] - r0;
      T* P = probs + off[static_cast<size_t>(s)] + static_cast<size_t>(h * len * len);
      for (int64_t i = 0; i < len; ++i) {
        const T* qi = q + (r0 + i) * qd + h * HD;
        T* p = P + i * len;
        T mx = -INFINITY;
        for (int64_t j = 0; j <= i; ++j) {
          p[j] = scale * dot(qi, k + (r0 + j) * kvd + kh * HD, HD);
          mx = std::max(mx, p[j]);
        }
        T sum = 0;
        for (int64_t j = 0; j <= i; ++j) sum += (p[j] = std::exp(p[j] - mx));
        const T inv = T(1) / sum;
        T* o = out + (r0 + i) * qd + h * HD;
        std::fill(o, o + HD, T(0));
        for (int64_t j = 0; j <= i; ++j) {
          p[j] *= inv;
          axpy(o, p[j], v + (r0 + j) * kvd + kh * HD, HD);
        }
        std::fill(p + i + 1, p + len, T(0));
      }
    }
  });
}

template <class T>
void attention_backward(T* dq, T* dk, T* dv, const T* dout, const T* probs, const T* q, const T* k, const T* v,
                        const int64_t* seq_start, int64_t n_seq, const AttnShape& sh, ThreadPool* pool) {
  const int64_t HD = sh.head_dim, qd = sh.n_head * HD, kvd = sh.n_head_kv * HD, grp = sh.n_head / sh.n_head_kv;
  const T scale = static_cast<T>(1.0 / std::sqrt(static_cast<double>(HD)));
  const std::vector<size_t> off = probs_offsets(seq_start, n_seq, sh.n_head);
  // One work item per (sequence, kv head): it owns dk/dv of that head, so no races.
  for_rows(pool, n_seq * sh.n_head_kv, [&](int64_t w0, int64_t w1) {
    std::vector<T> dp;
    for (int64_t w = w0; w < w1; ++w) {
      const int64_t s = w / sh.n_head_kv, kh = w % sh.n_head_kv;
      const int64_t r0 = seq_start[s], len = seq_start[s + 1] - r0;
      dp.resize(static_cast<size_t>(len));
      for (int64_t h = kh * grp; h < (kh + 1) * grp; ++h) {
        const T* P = probs + off[static_cast<size_t>(s)] + static_cast<size_t>(h * len * len);
        for (int64_t i = 0; i < len; ++i) {
          const T* p = P + i * len;
          const T* go = dout + (r0 + i) * qd + h * HD;
          T psum = 0;
          for (int64_t j = 0; j <= i; ++j) {
            dp[static_cast<size_t>(j)] = dot(go, v + (r0 + j) * kvd + kh * HD, HD);
            psum += p[j] * dp[static_cast<size_t>(j)];
            axpy(dv + (r0 + j) * kvd + kh * HD, p[j], go, HD);
          }
          T* gq = dq + (r0 + i) * qd + h * HD;
          const T* qi = q + (r0 + i) * qd + h * HD;
          for (int64_t j = 0; j <= i; ++j) {
            const T ds = p[j] * (dp[static_cast<size_t>(j)] - psum) * scale;
            if (ds == T(0)) continue;
            axpy(gq, ds, k + (r0 + j) * kvd + kh * HD, HD);
            axpy(dk + (r0 + j) * kvd + kh * HD, ds, qi, HD);
          }
        }
      }
    }
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

// ---------------------------------------------------------------- instantiations

#define R1_TRAIN_OPS(T)                                                                                            \
  template void embedding_forward<T>(T*, const int32_t*, const T*, int64_t, int64_t);                             \
  template void embedding_backward<T>(T*, const T*, const int32_t*, int64_t, int64_t);                            \
  template void rmsnorm_forward<T>(T*, T*, const T*, const T*, int64_t, int64_t, float, ThreadPool*);             \
  template void rmsnorm_backward<T>(T*, T*, const T*, const T*, const T*, const T*, int64_t, int64_t,             \
                                    ThreadPool*);                                                                 \
  template void matmul_forward<T>(T*, const T*, const T*, const T*, int64_t, int64_t, int64_t, ThreadPool*);     \
  template void matmul_backward<T>(T*, T*, T*, const T*, const T*, const T*, int64_t, int64_t, int64_t,           \
                                   ThreadPool*, MatmulScratch*);                                                  \
  template void rope_forward<T>(T*, const int32_t*, int64_t, int64_t, int64_t, const RopeTable&);                 \
  template void rope_backward<T>(T*, const int32_t*, int64_t, int64_t, int64_t, const RopeTable&);                \
  template void attention_forward<T>(T*, T*, const T*, const T*, const T*, const int64_t*, int64_t,               \
                                     const AttnShape&, ThreadPool*);                                              \
  template void attention_backward<T>(T*, T*, T*, const T*, const T*, const T*, const T*, const T*,               \
                                      const int64_t*, int64_t, const AttnShape&, ThreadPool*);                    \
  template void swiglu_forward<T>(T*, const T*, const T*, int64_t);                                               \
  template void swiglu_backward<T>(T*, T*, const T*, const T*, const T*, int64_t);                                \
  template void logprob_forward<T>(T*, T*, const int32_t*, int64_t, int64_t, ThreadPool*);                        \
  template void logprob_backward<T>(T*, const T*, const T*, const int32_t*, int64_t, int64_t, ThreadPool*);       \
  template void add_inplace<T>(T*, const T*, int64_t);

R1_TRAIN_OPS(float)
R1_TRAIN_OPS(double)

}  // namespace r1::train
