// Decode attention partials (kernels/attention.hpp): the AVX2 kernel and the scalar
// reference, each split into 1..4 key chunks and merged, against a direct double
// softmax written out here. Shapes: GQA groups of 1, 3 and 6 heads, head sizes 8..128,
// 1..1000 keys (partial blocks of 8), a padded cache row stride.
#include <gtest/gtest.h>

#include <cmath>
#include <vector>

#include "kernels/attention.hpp"
#include "kernels_util.hpp"

namespace r1 {
namespace {

using kernels::AttnRowShape;

// out[h] = sum_j softmax_j(scale q_h . k_j) v_j, all in double.
std::vector<double> direct(const AttnRowShape& s, const std::vector<float>& q, const std::vector<uint16_t>& k,
                           const std::vector<uint16_t>& v, int64_t n_kv) {
  const int64_t HD = s.head_dim, group = s.n_head / s.n_head_kv;
  std::vector<double> out(static_cast<size_t>(s.n_head * HD), 0.0);
  for (int64_t h = 0; h < s.n_head; ++h) {
    const int64_t off = (h / group) * HD;
    std::vector<double> sc(static_cast<size_t>(n_kv));
    double mx = -1e300;
    for (int64_t j = 0; j < n_kv; ++j) {
      double d = 0;
      for (int64_t i = 0; i < HD; ++i) d += double(q[h * HD + i]) * fp16_to_fp32(k[j * s.kv_stride + off + i]);
      sc[j] = d * s.scale;
      mx = std::max(mx, sc[j]);
    }
    double sum = 0;
    for (int64_t j = 0; j < n_kv; ++j) sum += std::exp(sc[j] - mx);
    for (int64_t j = 0; j < n_kv; ++j)
      for (int64_t i = 0; i < HD; ++i)
        out[h * HD + i] += std::exp(sc[j] - mx) / sum * fp16_to_fp32(v[j * s.kv_stride + off + i]);
  }
  return out;
}

using PartialFn = void (*)(const AttnRowShape&, const float*, const uint16_t*, const uint16_t*, int64_t, int64_t,
                           float*, float*, float*);

TEST(KernelsAttention, DecodePartialsMergeToSoftmax) {
  struct Shape {
    int64_t n_head, n_head_kv, head_dim;
  };
  std::vector<std::pair<const char*, PartialFn>> fns = {{"ref", kernels::attn_partial_f16_ref}};
  if (isa_available(Isa::kAvx2)) fns.push_back({"avx2", kernels::attn_partial_f16_avx2});
  uint32_t seed = 1;
  for (const Shape sh : {Shape{12, 2, 128}, Shape{3, 1, 8}, Shape{4, 4, 16}, Shape{6, 2, 64}}) {
    for (int64_t n_kv : {1, 7, 8, 9, 100, 1000}) {
      const AttnRowShape s{sh.n_head, sh.n_head_kv, sh.head_dim, 1.0f / std::sqrt(float(sh.head_dim)),
                           sh.n_head_kv * sh.head_dim + 8};
      const auto q = test::gaussian(static_cast<size_t>(s.n_head * s.head_dim), ++seed, 1.5f);
      const auto kf = test::gaussian(static_cast<size_t>(n_kv * s.kv_stride), ++seed, 1.5f);
      const auto vf = test::gaussian(static_cast<size_t>(n_kv * s.kv_stride), ++seed);
      std::vector<uint16_t> k(kf.size()), v(vf.size());
      for (size_t i = 0; i < kf.size(); ++i) k[i] = fp32_to_fp16(kf[i]), v[i] = fp32_to_fp16(vf[i]);
      const auto want = direct(s, q, k, v, n_kv);
      for (const auto& [name, fn] : fns)
        for (int parts = 1; parts <= 4; ++parts) {
          if (parts > n_kv) break;
          const size_t nh = static_cast<size_t>(s.n_head);
          std::vector<float> m(parts * nh), l(parts * nh), acc(parts * nh * s.head_dim), out(nh * s.head_dim);
          for (int p = 0; p < parts; ++p)
            fn(s, q.data(), k.data(), v.data(), n_kv * p / parts, n_kv * (p + 1) / parts, &m[p * nh], &l[p * nh],
               &acc[p * nh * s.head_dim]);
          kernels::attn_merge(s, parts, m.data(), l.data(), acc.data(), out.data());
          for (size_t i = 0; i < out.size(); ++i)
            ASSERT_NEAR(out[i], want[i], 2e-5 * (1 + std::fabs(want[i])))
                << name << " heads " << sh.n_head << "/" << sh.n_head_kv << " hd " << sh.head_dim << " n_kv " << n_kv
                << " parts " << parts << " i " << i;
        }
    }
  }
}

// Large score gaps: the chunk holding the maximum is not the first one, and exp
// underflows for the rest; the merge must still weight the chunks correctly.
TEST(KernelsAttention, MergeHandlesDominantLateKey) {
  const AttnRowShape s{2, 1, 8, 1.0f, 8};
  const int64_t n_kv = 40;
  std::vector<float> q(16, 1.0f);
  std::vector<uint16_t> k(n_kv * 8, fp32_to_fp16(0.0f)), v(n_kv * 8);
  for (int64_t j = 0; j < n_kv; ++j)
    for (int i = 0; i < 8; ++i) v[j * 8 + i] = fp32_to_fp16(float(j));
  for (int i = 0; i < 8; ++i) k[33 * 8 + i] = fp32_to_fp16(20.0f);  // score 160 at key 33
  std::vector<PartialFn> fns = {kernels::attn_partial_f16_ref};
  if (isa_available(Isa::kAvx2)) fns.push_back(kernels::attn_partial_f16_avx2);
  for (PartialFn fn : fns) {
    std::vector<float> m(4), l(4), acc(32), out(16);
    fn(s, q.data(), k.data(), v.data(), 0, 20, &m[0], &l[0], &acc[0]);
    fn(s, q.data(), k.data(), v.data(), 20, 40, &m[2], &l[2], &acc[16]);
    kernels::attn_merge(s, 2, m.data(), l.data(), acc.data(), out.data());
    for (float o : out) EXPECT_NEAR(o, 33.0f, 1e-4f);
  }
}

}  // namespace
}  // namespace r1
