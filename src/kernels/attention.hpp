// Decode-time attention over an F16 KV cache: one query row, all heads, keys split into
// chunks that threads process independently (flash-decoding), then merged.
//
// A partial over keys [j0, j1) holds, per query head h (s_j = scale * q_h . k_j):
//   m[h]       = max_j s_j
//   l[h]       = sum_j exp(s_j - m[h])
//   acc[h][:]  = sum_j exp(s_j - m[h]) v_j
// and attn_merge() combines any number of partials into softmax-weighted outputs. The
// heads of one GQA group (n_head / n_head_kv query heads per K/V head) share every load
// and conversion of a K or V row, so the cache is streamed once per step.
#pragma once
#include <cstdint>

namespace r1::kernels {

struct AttnRowShape {
  int64_t n_head;     // query heads
  int64_t n_head_kv;  // key/value heads; n_head % n_head_kv == 0
  int64_t head_dim;
  float scale;
  int64_t kv_stride;  // halves from one cache row to the next (>= n_head_kv * head_dim)
};

// Partial over keys [j0, j1) (j1 > j0) of the query row q (n_head * head_dim floats);
// row j of K / V starts at k + j * kv_stride (heads of head_dim halves back to back).
// m, l: n_head floats; acc: n_head * head_dim floats. Scalar reference: exact expf and
// double sums; the AVX2 variant needs head_dim % 8 == 0 (attn_partial_f16() picks).
void attn_partial_f16_ref(const AttnRowShape& s, const float* q, const uint16_t* k, const uint16_t* v, int64_t j0,
                          int64_t j1, float* m, float* l, float* acc);
void attn_partial_f16_avx2(const AttnRowShape& s, const float* q, const uint16_t* k, const uint16_t* v, int64_t j0,
                           int64_t j1, float* m, float* l, float* acc);
// The best variant for the running CPU and this shape.
void attn_partial_f16(const AttnRowShape& s, const float* q, const uint16_t* k, const uint16_t* v, int64_t j0,
                      int64_t j1, float* m, float* l, float* acc);

// out[h * head_dim + d] = sum_p exp(m_p[h] - M) acc_p[h][d] / sum_p exp(m_p[h] - M) l_p[h],
// M = max_p m_p[h], over n_parts partials stored back to back (m: n_parts * n_head, ...).
void attn_merge(const AttnRowShape& s, int n_parts, const float* m, const float* l, const float* acc, float* out);

}  // namespace r1::kernels
