// attention_f16 (llama.cpp's tiled flash-attention order) against a double-precision
// softmax attention over the same F16 K/V, and independence of the query tiling.
#include <gtest/gtest.h>

#include <cmath>
#include <random>
#include <vector>

#include "base/thread_pool.hpp"
#include "kernels/types.hpp"
#include "model/blocks/attention.hpp"

namespace r1 {
namespace {

struct Case {
  AttentionShape shape;
  int64_t n_ctx;
  std::vector<float> q;        // n_ctx rows of n_head * head_dim
  std::vector<uint16_t> k, v;  // n_ctx rows of n_head_kv * head_dim
};

Case make_case(int64_t n_head, int64_t n_head_kv, int64_t head_dim, int64_t n_ctx, uint32_t seed) {
  Case c{{n_head, n_head_kv, head_dim, 1.0f / std::sqrt(static_cast<float>(head_dim))}, n_ctx, {}, {}, {}};
  std::mt19937 rng(seed);
  std::normal_distribution<float> g(0.f, 1.5f);
  c.q.resize(static_cast<size_t>(n_ctx * n_head * head_dim));
  for (auto& x : c.q) x = g(rng);
  c.k.resize(static_cast<size_t>(n_ctx * n_head_kv * head_dim));
  c.v.resize(c.k.size());
  for (auto& x : c.k) x = fp32_to_fp16(g(rng));
  for (auto& x : c.v) x = fp32_to_fp16(g(rng));
  return c;
}

TEST(ModelAttention, MatchesDoublePrecisionSoftmax) {
  ThreadPool pool(2);
  for (int64_t n_ctx : {1, 5, 64, 65, 150}) {
    const Case c = make_case(4, 2, 32, n_ctx, static_cast<uint32_t>(n_ctx));
    const int64_t HD = c.shape.head_dim, qd = c.shape.n_head * HD, kvd = c.shape.n_head_kv * HD;
    std::vector<float> out(c.q.size());
    attention_f16(c.shape, c.q.data(), n_ctx, 0, c.k.data(), c.v.data(), out.data(), pool);
    for (int64_t t = 0; t < n_ctx; ++t)
      for (int64_t h = 0; h < c.shape.n_head; ++h) {
        const int64_t kvh = h / (c.shape.n_head / c.shape.n_head_kv);
        std::vector<double> w(static_cast<size_t>(t + 1));
        double mx = -1e300, sum = 0;
        for (int64_t j = 0; j <= t; ++j) {
          double s = 0;
          for (int64_t d = 0; d < HD; ++d)
            s += static_cast<double>(c.q[t * qd + h * HD + d]) * fp16_to_fp32(c.k[j * kvd + kvh * HD + d]);
          w[j] = s * c.shape.scale;
          mx = std::max(mx, w[j]);
        }
        for (auto& x : w) sum += (x = std::exp(x - mx));
        for (int64_t d = 0; d < HD; ++d) {
          double o = 0;
          for (int64_t j = 0; j <= t; ++j) o += w[j] * fp16_to_fp32(c.v[j * kvd + kvh * HD + d]);
          EXPECT_NEAR(out[t * qd + h * HD + d], o / sum, 2e-5) << "n_ctx " << n_ctx << " t " << t << " h " << h;
        }
      }
  }
}

TEST(ModelAttention, RowsDoNotDependOnHowQueriesAreBatched) {
  // 130 queries at once (tiles of 64 queries) == the same queries fed 1, 60 and 69 at a
  // time against the same cache: every row's operations are the same.
  ThreadPool pool(2);
  const Case c = make_case(6, 2, 64, 130, 7);
  const int64_t qd = c.shape.n_head * c.shape.head_dim;
  std::vector<float> all(c.q.size()), parts(c.q.size());
  attention_f16(c.shape, c.q.data(), 130, 0, c.k.data(), c.v.data(), all.data(), pool);
  int64_t pos = 0;
  for (int64_t n : {1, 60, 69}) {
    attention_f16(c.shape, &c.q[pos * qd], n, pos, c.k.data(), c.v.data(), &parts[pos * qd], pool);
    pos += n;
  }
  for (size_t i = 0; i < all.size(); ++i) ASSERT_EQ(all[i], parts[i]) << "element " << i;
}

}  // namespace
}  // namespace r1
