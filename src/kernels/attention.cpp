// Scalar parts of kernels/attention.hpp: the reference partial, the merge, dispatch.
#include "kernels/attention.hpp"

#include <cmath>
#include <vector>

#include "kernels/dispatch.hpp"
#include "kernels/types.hpp"

namespace r1::kernels {

void attn_partial_f16_ref(const AttnRowShape& s, const float* q, const uint16_t* k, const uint16_t* v, int64_t j0,
                          int64_t j1, float* m, float* l, float* acc) {
  const int64_t HD = s.head_dim, group = s.n_head / s.n_head_kv;
  std::vector<double> score(static_cast<size_t>(j1 - j0));
  for (int64_t h = 0; h < s.n_head; ++h) {
    const int64_t off = (h / group) * HD;
    double mx = -INFINITY;
    for (int64_t j = j0; j < j1; ++j) {
      double dot = 0;
      for (int64_t d = 0; d < HD; ++d) dot += static_cast<double>(q[h * HD + d]) * fp16_to_fp32(k[j * s.kv_stride + off + d]);
      score[static_cast<size_t>(j - j0)] = dot * s.scale;
      mx = std::fmax(mx, dot * s.scale);
    }
    double sum = 0;
    std::vector<double> o(static_cast<size_t>(HD), 0.0);
    for (int64_t j = j0; j < j1; ++j) {
      const double p = std::exp(score[static_cast<size_t>(j - j0)] - mx);
      sum += p;
      for (int64_t d = 0; d < HD; ++d) o[static_cast<size_t>(d)] += p * fp16_to_fp32(v[j * s.kv_stride + off + d]);
    }
    m[h] = static_cast<float>(mx);
    l[h] = static_cast<float>(sum);
    for (int64_t d = 0; d < HD; ++d) acc[h * HD + d] = static_cast<float>(o[static_cast<size_t>(d)]);
  }
}

void attn_partial_f16(const AttnRowShape& s, const float* q, const uint16_t* k, const uint16_t* v, int64_t j0,
                      int64_t j1, float* m, float* l, float* acc) {
  if (active_isa() == Isa::kAvx2 && s.head_dim % 8 == 0)
    attn_partial_f16_avx2(s, q, k, v, j0, j1, m, l, acc);
  else
    attn_partial_f16_ref(s, q, k, v, j0, j1, m, l, acc);
}

void attn_merge(const AttnRowShape& s, int n_parts, const float* m, const float* l, const float* acc, float* out) {
  const int64_t HD = s.head_dim;
  for (int64_t h = 0; h < s.n_head; ++h) {
    float mx = -INFINITY;
    for (int p = 0; p < n_parts; ++p) mx = std::fmax(mx, m[p * s.n_head + h]);
    float sum = 0;
    float* o = out + h * HD;
    for (int64_t d = 0; d < HD; ++d) o[d] = 0;
    for (int p = 0; p < n_parts; ++p) {
      const float lp = l[p * s.n_head + h];
      if (lp == 0) continue;  // an empty chunk
      const float w = std::exp(m[p * s.n_head + h] - mx);
      sum += w * lp;
      const float* a = acc + (p * s.n_head + h) * HD;
      for (int64_t d = 0; d < HD; ++d) o[d] += w * a[d];
    }
    const float inv = sum > 0 ? 1.0f / sum : 0.0f;
    for (int64_t d = 0; d < HD; ++d) o[d] *= inv;
  }
}

}  // namespace r1::kernels
