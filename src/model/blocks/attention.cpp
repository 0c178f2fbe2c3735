#include "model/blocks/attention.hpp"

#include <algorithm>
#include <cmath>
#include <vector>

#include "base/thread_pool.hpp"
#include "kernels/attention.hpp"
#include "kernels/ggml_order.hpp"
#include "kernels/ggml_vec.hpp"
#include "kernels/types.hpp"
#include "model/blocks/backprop.hpp"

namespace r1 {

namespace {

// llama.cpp's tiled flash attention (ggml-cpu ops.cpp ggml_compute_forward_flash_attn_ext_tiled),
// reproduced operation by operation: F32 math on F16 K/V, keys in tiles of 64 from cache
// row 0, and per query row and tile:
//   s_j   = fl(fma-chain over d of K[j][d] * q[d]) * scale        (masked / padded: -inf)
//   M'    = max(M, max_j s_j);  if M' > M: acc *= expf(M - M'), S *= expf(M - M')
//   p_j   = ggml_expf(s_j - M')   (0 where masked)
//   S     = float(double(S) + sum over lane groups of ggml_hsum(p group))
//   acc_d = fma-chain over j of V[j][d] * p_j
// and finally out = acc * (1 / S). The query tiling (64 rows) only shares the converted
// K/V tiles; it does not change any row's result.
constexpr int64_t kTile = 64;

struct Scratch {
  std::vector<float> acc;  // [kTile][HD]: per query row output accumulators
  std::vector<float> m, s; // [kTile]: running max and sum per query row
  std::vector<float> p;    // [kTile]: scores, then probabilities, of one row
};

// K and V of one call converted to F32 once (not once per query head and query tile):
// kt: per K/V head and key tile, the tile transposed ([HD][kTile]); vt: per K/V head,
// the rows ([n_keys][HD]). Kept per thread and reused, so calls do not page-fault.
struct KvF32 {
  std::vector<float> kt, vt;
  int64_t n_keys = 0, n_ktiles = 0, head_dim = 0;
  const float* k_tile(int64_t kvh, int64_t tile) const {
    return kt.data() + static_cast<size_t>((kvh * n_ktiles + tile) * head_dim * kTile);
  }
  const float* v_row(int64_t kvh, int64_t key) const {
    return vt.data() + static_cast<size_t>((kvh * n_keys + key) * head_dim);
  }
};

void convert_kv(const AttentionShape& sh, int64_t n_keys, const uint16_t* k_cache, const uint16_t* v_cache,
                KvF32& kv, ThreadPool& pool) {
  const int64_t HD = sh.head_dim, kv_dim = sh.n_head_kv * HD;
  kv.n_keys = n_keys, kv.n_ktiles = (n_keys + kTile - 1) / kTile, kv.head_dim = HD;
  kv.kt.resize(static_cast<size_t>(sh.n_head_kv * kv.n_ktiles * HD * kTile));
  kv.vt.resize(static_cast<size_t>(sh.n_head_kv * n_keys * HD));
  const TypeTraits& f16 = traits(DType::F16);  // exact F16 -> F32 (F16C where available)
  pool.parallel_for(sh.n_head_kv * kv.n_ktiles, [&](int64_t i0, int64_t i1, int) {
    std::vector<float> row(static_cast<size_t>(HD));
    for (int64_t i = i0; i < i1; ++i) {
      const int64_t kvh = i / kv.n_ktiles, tile = i % kv.n_ktiles;
      float* kt = const_cast<float*>(kv.k_tile(kvh, tile));
      for (int64_t j = 0; j < kTile && tile * kTile + j < n_keys; ++j) {
        const int64_t key = tile * kTile + j;
        f16.to_float(k_cache + key * kv_dim + kvh * HD, row.data(), HD);
        for (int64_t d = 0; d < HD; ++d) kt[d * kTile + j] = row[static_cast<size_t>(d)];
        f16.to_float(v_cache + key * kv_dim + kvh * HD, const_cast<float*>(kv.v_row(kvh, key)), HD);
      }
    }
  });
}

// The body is compiled twice: plainly (std::fma is a libm call there) and, below, inside
// a function with the AVX2+FMA target, where the fma loops become vector FMAs. Same
// operations and order either way; `w` is sized by the caller.
[[gnu::always_inline]] inline void attend_tile_body(const AttentionShape& sh, const float* q, int64_t t0, int64_t t1,
                                                    int64_t h, int64_t pos0, const KvF32& kv, float* out, int lanes,
                                                    Scratch& w) {
  const int64_t HD = sh.head_dim, q_dim = sh.n_head * HD;
  const int64_t kvh = h / (sh.n_head / sh.n_head_kv);
  const int64_t rows = t1 - t0;
  const int64_t n_keys_max = pos0 + t1;  // keys visible to the last row of the tile
  for (int64_t ic = 0; ic < n_keys_max; ic += kTile) {
    const int64_t n_tile = std::min(kTile, n_keys_max - ic);
    const float* kt = kv.k_tile(kvh, ic / kTile);
    for (int64_t r = 0; r < rows; ++r) {
      const int64_t n_vis = std::min(n_tile, pos0 + t0 + r + 1 - ic);  // causal mask
      if (n_vis <= 0) continue;
      const float* qr = q + (t0 + r) * q_dim + h * HD;
      float* p = w.p.data();
      for (int64_t j = 0; j < n_vis; ++j) p[j] = 0.0f;
      for (int64_t d = 0; d < HD; ++d) {
        const float qd = qr[d];
        const float* kd = kt + d * kTile;
        for (int64_t j = 0; j < n_vis; ++j) p[j] = std::fma(kd[j], qd, p[j]);
      }
      float tile_max = -INFINITY;
      for (int64_t j = 0; j < n_vis; ++j) {
        p[j] *= sh.scale;
        tile_max = std::max(tile_max, p[j]);
      }
      float* acc = &w.acc[static_cast<size_t>(r * HD)];
      float& M = w.m[static_cast<size_t>(r)];
      float& S = w.s[static_cast<size_t>(r)];
      const float m_new = std::fmax(M, tile_max);
      if (m_new > M) {
        const float ms = std::exp(M - m_new);
        for (int64_t d = 0; d < HD; ++d) acc[d] *= ms;
        S *= ms;
      }
      M = m_new;
      ggml_expf_shifted(p, n_vis, m_new, lanes);
      for (int64_t j = n_vis; j < kTile; ++j) p[j] = 0.0f;
      double sum = 0;
      for (int64_t c = 0; c < kTile; c += lanes) sum += static_cast<double>(ggml_hsum(p + c, lanes));
      S = static_cast<float>(static_cast<double>(S) + sum);
      for (int64_t j = 0; j < n_vis; ++j) {
        const float pj = p[j];
        const float* vj = kv.v_row(kvh, ic + j);
        for (int64_t d = 0; d < HD; ++d) acc[d] = std::fma(vj[d], pj, acc[d]);
      }
    }
  }
  for (int64_t r = 0; r < rows; ++r) {
    const float S = w.s[static_cast<size_t>(r)];
    const float inv = S == 0.0f ? 0.0f : 1.0f / S;
    const float* acc = &w.acc[static_cast<size_t>(r * HD)];
    float* o = out + (t0 + r) * q_dim + h * HD;
    for (int64_t d = 0; d < HD; ++d) o[d] = acc[d] * inv;
  }
}

void attend_tile_plain(const AttentionShape& sh, const float* q, int64_t t0, int64_t t1, int64_t h, int64_t pos0,
                       const KvF32& kv, float* out, int lanes, Scratch& w) {
  attend_tile_body(sh, q, t0, t1, h, pos0, kv, out, lanes, w);
}

#if defined(__x86_64__)
[[gnu::target("avx2,fma")]] void attend_tile_fma(const AttentionShape& sh, const float* q, int64_t t0, int64_t t1,
                                                 int64_t h, int64_t pos0, const KvF32& kv, float* out, int lanes,
                                                 Scratch& w) {
  attend_tile_body(sh, q, t0, t1, h, pos0, kv, out, lanes, w);
}
bool cpu_has_fma() {
  static const bool yes = __builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma");
  return yes;
}
#else
bool cpu_has_fma() { return false; }
#endif

// Decode path: batches of fewer rows than this go one query row at a time through the
// flash-decoding kernels (kernels/attention.hpp): all heads of a GQA group share each
// K/V load, and the keys are split among the threads. Larger batches (prefill) take the
// tiled path above, llama.cpp's order for >= 64 rows.
constexpr int64_t kDecodeRows = 16;
// Fewest keys worth a thread of their own (below, the pool's wake-up costs more).
constexpr int64_t kKeysPerThread = 256;

void attention_decode(const AttentionShape& s, const float* q, int64_t n_tokens, int64_t pos0,
                      const uint16_t* k_cache, const uint16_t* v_cache, float* out, ThreadPool& pool) {
  const kernels::AttnRowShape rs{s.n_head, s.n_head_kv, s.head_dim, s.scale, s.n_head_kv * s.head_dim};
  const int64_t q_dim = s.n_head * s.head_dim;
  std::vector<float> m, l, acc;
  for (int64_t r = 0; r < n_tokens; ++r) {
    const int64_t n_kv = pos0 + r + 1;
    const int parts = static_cast<int>(std::clamp<int64_t>(n_kv / kKeysPerThread, 1, pool.size()));
    m.resize(static_cast<size_t>(parts * s.n_head));
    l.resize(m.size());
    acc.resize(m.size() * static_cast<size_t>(s.head_dim));
    auto part = [&](int p) {
      if (p >= parts) return;
      kernels::attn_partial_f16(rs, q + r * q_dim, k_cache, v_cache, n_kv * p / parts, n_kv * (p + 1) / parts,
                                &m[static_cast<size_t>(p * s.n_head)], &l[static_cast<size_t>(p * s.n_head)],
                                &acc[static_cast<size_t>(p * s.n_head * s.head_dim)]);
    };
    if (parts == 1)
      part(0);
    else
      pool.run(part);
    kernels::attn_merge(rs, parts, m.data(), l.data(), acc.data(), out + r * q_dim);
  }
}

}  // namespace

void attention_f16(const AttentionShape& s, const float* q, int64_t n_tokens, int64_t pos0,
                   const uint16_t* k_cache, const uint16_t* v_cache, float* out, ThreadPool& pool) {
  if (n_tokens < kDecodeRows) {
    attention_decode(s, q, n_tokens, pos0, k_cache, v_cache, out, pool);
    return;
  }
  const int lanes = ggml_lanes();
  const int64_t n_qtiles = (n_tokens + kTile - 1) / kTile;
  // A local reference: the worker lambdas must see the calling thread's buffer, not their own.
  thread_local KvF32 kv_tls;
  KvF32& kv = kv_tls;
  convert_kv(s, pos0 + n_tokens, k_cache, v_cache, kv, pool);
  std::vector<Scratch> scratch(static_cast<size_t>(pool.size()));
  pool.parallel_for(s.n_head * n_qtiles, [&](int64_t begin, int64_t end, int thread) {
    Scratch& w = scratch[static_cast<size_t>(thread)];
    for (int64_t item = begin; item < end; ++item) {
      const int64_t h = item % s.n_head, t0 = (item / s.n_head) * kTile, t1 = std::min(n_tokens, t0 + kTile);
      w.acc.assign(static_cast<size_t>((t1 - t0) * s.head_dim), 0.0f);
      w.m.assign(static_cast<size_t>(t1 - t0), -INFINITY);
      w.s.assign(static_cast<size_t>(t1 - t0), 0.0f);
      w.p.resize(static_cast<size_t>(kTile));
#if defined(__x86_64__)
      if (cpu_has_fma()) {
        attend_tile_fma(s, q, t0, t1, h, pos0, kv, out, lanes, w);
        continue;
      }
#endif
      attend_tile_plain(s, q, t0, t1, h, pos0, kv, out, lanes, w);
    }
  });
}

}  // namespace r1

namespace r1::train {

using namespace detail;

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

#define R1_ATTENTION_TRAIN(T) \
  template void attention_forward<T>(T*, T*, const T*, const T*, const T*, const int64_t*, int64_t, const AttnShape&, ThreadPool*); \
  template void attention_backward<T>(T*, T*, T*, const T*, const T*, const T*, const T*, const T*, const int64_t*, int64_t, const AttnShape&, ThreadPool*);

R1_ATTENTION_TRAIN(float)
R1_ATTENTION_TRAIN(double)

#undef R1_ATTENTION_TRAIN

}  // namespace r1::train
