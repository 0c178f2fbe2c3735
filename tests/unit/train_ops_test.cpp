// Every training op's backward against central finite differences of its forward,
// computed in double (the ops are templates; the double instantiation is the same
// code as the float one). Each test reduces the op's output to a scalar with
// random coefficients R: L = sum(out * R), so dL/dout = R.
// Plus a few forward values computed by hand, and the fast float paths (AVX2
// matmul through transposes, threads) against the scalar reference.
#include <gtest/gtest.h>

#include <cmath>
#include <functional>
#include <random>
#include <vector>

#include "base/thread_pool.hpp"
#include "model/blocks/attention.hpp"
#include "model/blocks/linear.hpp"
#include "model/blocks/rope.hpp"
#include "model/ops.hpp"

using namespace r1::train;
using Vec = std::vector<double>;

namespace {

Vec random_vec(size_t n, uint32_t seed, double scale = 1.0) {
  std::mt19937 rng(seed);
  std::normal_distribution<double> d(0.0, scale);
  Vec v(n);
  for (auto& x : v) x = d(rng);
  return v;
}

double dot(const Vec& a, const Vec& b) {
  double s = 0;
  for (size_t i = 0; i < a.size(); ++i) s += a[i] * b[i];
  return s;
}

// Compares analytic[i] with the central difference of loss() in x[i], for every i.
void check_grad(Vec& x, const Vec& analytic, const std::function<double()>& loss, const char* what,
                double tol = 1e-7) {
  ASSERT_EQ(x.size(), analytic.size()) << what;
  const double h = 1e-5;
  for (size_t i = 0; i < x.size(); ++i) {
    const double save = x[i];
    x[i] = save + h;
    const double lp = loss();
    x[i] = save - h;
    const double lm = loss();
    x[i] = save;
    const double fd = (lp - lm) / (2 * h);
    EXPECT_NEAR(analytic[i], fd, tol * std::max(1.0, std::fabs(fd))) << what << "[" << i << "]";
  }
}

}  // namespace

TEST(TrainOps, EmbeddingGradient) {
  const int64_t V = 5, D = 3, n = 6;
  const std::vector<int32_t> ids = {1, 4, 1, 0, 3, 1};
  Vec table = random_vec(V * D, 1), R = random_vec(n * D, 2);
  auto loss = [&] {
    Vec out(n * D);
    embedding_forward(out.data(), ids.data(), table.data(), n, D);
    return dot(out, R);
  };
  Vec dt(V * D, 0.0);
  embedding_backward(dt.data(), R.data(), ids.data(), n, D);
  check_grad(table, dt, loss, "dtable");
  // Row 2 is never used: its gradient stays exactly zero.
  for (int64_t i = 0; i < D; ++i) EXPECT_EQ(dt[2 * D + i], 0.0);
}

TEST(TrainOps, RmsNormByHand) {
  // x = (3, 4): mean square 12.5, rstd = 1/sqrt(12.5 + eps).
  const double x[2] = {3, 4}, w[2] = {1, 2};
  double out[2], rstd;
  rmsnorm_forward(out, &rstd, x, w, 1, 2, 0.0f, nullptr);
  EXPECT_NEAR(rstd, 1 / std::sqrt(12.5), 1e-15);
  EXPECT_NEAR(out[0], 3 / std::sqrt(12.5), 1e-15);
  EXPECT_NEAR(out[1], 8 / std::sqrt(12.5), 1e-15);
}

TEST(TrainOps, RmsNormGradient) {
  const int64_t n = 5, D = 8;
  const float eps = 1e-5f;
  Vec x = random_vec(n * D, 3), w = random_vec(D, 4), R = random_vec(n * D, 5);
  auto loss = [&] {
    Vec out(n * D), rstd(n);
    rmsnorm_forward(out.data(), rstd.data(), x.data(), w.data(), n, D, eps, nullptr);
    return dot(out, R);
  };
  Vec out(n * D), rstd(n), dx(n * D, 0.0), dw(D, 0.0);
  rmsnorm_forward(out.data(), rstd.data(), x.data(), w.data(), n, D, eps, nullptr);
  rmsnorm_backward(dx.data(), dw.data(), R.data(), x.data(), w.data(), rstd.data(), n, D, nullptr);
  check_grad(x, dx, loss, "dx");
  check_grad(w, dw, loss, "dw");
}

TEST(TrainOps, MatmulGradient) {
  const int64_t n = 4, C = 5, OC = 3;
  Vec x = random_vec(n * C, 6), w = random_vec(OC * C, 7), b = random_vec(OC, 8), R = random_vec(n * OC, 9);
  auto loss = [&] {
    Vec out(n * OC);
    matmul_forward(out.data(), x.data(), w.data(), b.data(), n, C, OC, nullptr);
    return dot(out, R);
  };
  Vec dx(n * C, 0.0), dw(OC * C, 0.0), db(OC, 0.0);
  matmul_backward(dx.data(), dw.data(), db.data(), R.data(), x.data(), w.data(), n, C, OC, nullptr);
  check_grad(x, dx, loss, "dx");
  check_grad(w, dw, loss, "dw");
  check_grad(b, db, loss, "db");
  // By hand: one row, one output.
  const double x1[2] = {1, 2}, w1[2] = {3, -1}, b1 = 0.5;
  double o;
  matmul_forward(&o, x1, w1, &b1, 1, 2, 1, nullptr);
  EXPECT_DOUBLE_EQ(o, 1.5);
}

TEST(TrainOps, MatmulFastPathMatchesReference) {
  // The float path with a pool (AVX2 dot products on transposed copies, threads)
  // against the scalar float path without one.
  const int64_t n = 37, C = 70, OC = 45;
  auto to_f = [](const Vec& v) { return std::vector<float>(v.begin(), v.end()); };
  std::vector<float> x = to_f(random_vec(n * C, 10)), w = to_f(random_vec(OC * C, 11)), b = to_f(random_vec(OC, 12));
  std::vector<float> g = to_f(random_vec(n * OC, 13));
  r1::ThreadPool pool(3);
  std::vector<float> o_ref(n * OC), o_fast(n * OC);
  matmul_forward(o_ref.data(), x.data(), w.data(), b.data(), n, C, OC, nullptr);
  matmul_forward(o_fast.data(), x.data(), w.data(), b.data(), n, C, OC, &pool);
  for (size_t i = 0; i < o_ref.size(); ++i) EXPECT_NEAR(o_fast[i], o_ref[i], 1e-4f * (1 + std::fabs(o_ref[i])));
  std::vector<float> dx_ref(n * C, 0.5f), dw_ref(OC * C, -0.25f), db_ref(OC, 1.0f);
  std::vector<float> dx_fast = dx_ref, dw_fast = dw_ref, db_fast = db_ref;
  matmul_backward(dx_ref.data(), dw_ref.data(), db_ref.data(), g.data(), x.data(), w.data(), n, C, OC, nullptr);
  matmul_backward(dx_fast.data(), dw_fast.data(), db_fast.data(), g.data(), x.data(), w.data(), n, C, OC, &pool);
  for (size_t i = 0; i < dx_ref.size(); ++i) EXPECT_NEAR(dx_fast[i], dx_ref[i], 1e-4f * (1 + std::fabs(dx_ref[i])));
  for (size_t i = 0; i < dw_ref.size(); ++i) EXPECT_NEAR(dw_fast[i], dw_ref[i], 1e-4f * (1 + std::fabs(dw_ref[i])));
  for (size_t i = 0; i < db_ref.size(); ++i) EXPECT_NEAR(db_fast[i], db_ref[i], 1e-4f * (1 + std::fabs(db_ref[i])));
}

TEST(TrainOps, RopeByHand) {
  // Position 0 is the identity; position p rotates pair (x0, x_half) by p * base^0 = p radians.
  const RopeTable rt(4, 8, 10000.0f, r1::RopeStyle::neox);
  double v[4] = {1, 2, 3, 4};
  const int32_t p0 = 0, p1 = 1;
  rope_forward(v, &p0, 1, 1, 4, rt);
  EXPECT_DOUBLE_EQ(v[0], 1);
  EXPECT_DOUBLE_EQ(v[3], 4);
  rope_forward(v, &p1, 1, 1, 4, rt);
  EXPECT_NEAR(v[0], 1 * std::cos(1.0) - 3 * std::sin(1.0), 1e-6);
  EXPECT_NEAR(v[2], 1 * std::sin(1.0) + 3 * std::cos(1.0), 1e-6);
  const double f1 = std::pow(10000.0, -0.5);  // second pair: base^(-2/4)
  EXPECT_NEAR(v[1], 2 * std::cos(f1) - 4 * std::sin(f1), 1e-6);
  // normal style pairs adjacent dims
  const RopeTable rn(4, 8, 10000.0f, r1::RopeStyle::normal);
  double u[4] = {1, 2, 3, 4};
  rope_forward(u, &p1, 1, 1, 4, rn);
  EXPECT_NEAR(u[0], 1 * std::cos(1.0) - 2 * std::sin(1.0), 1e-6);
  EXPECT_NEAR(u[1], 1 * std::sin(1.0) + 2 * std::cos(1.0), 1e-6);
}

TEST(TrainOps, RopeGradient) {
  for (auto style : {r1::RopeStyle::neox, r1::RopeStyle::normal})
    for (int64_t rope_dim : {8, 4}) {
      const int64_t n = 3, H = 2, HD = 8;
      const RopeTable rt(rope_dim, 32, 10000.0f, style);
      const std::vector<int32_t> pos = {0, 5, 17};
      Vec x = random_vec(n * H * HD, 14), R = random_vec(n * H * HD, 15);
      auto loss = [&] {
        Vec y = x;
        rope_forward(y.data(), pos.data(), n, H, HD, rt);
        return dot(y, R);
      };
      Vec dx = R;
      rope_backward(dx.data(), pos.data(), n, H, HD, rt);
      check_grad(x, dx, loss, "rope dx");
    }
}

TEST(TrainOps, AttentionByHand) {
  // One token attends only to itself: out = v. Two tokens, equal scores: out = mean.
  const int64_t seq[3] = {0, 1, 3};
  const AttnShape sh{1, 1, 2};
  const double q[6] = {1, 0, 0, 0, 0, 0}, k[6] = {5, 5, 1, 1, 1, 1}, v[6] = {7, 8, 2, 4, 6, 8};
  Vec out(6), probs(attn_probs_size(seq, 2, 1));
  attention_forward(out.data(), probs.data(), q, k, v, seq, 2, sh, nullptr);
  EXPECT_DOUBLE_EQ(out[0], 7);
  EXPECT_DOUBLE_EQ(out[1], 8);
  EXPECT_DOUBLE_EQ(out[2], 2);  // second sequence, first token
  EXPECT_DOUBLE_EQ(out[4], 4);  // q = 0: uniform over (2,4) and (6,8)
  EXPECT_DOUBLE_EQ(out[5], 6);
}

TEST(TrainOps, AttentionGradient) {
  // Two sequences (3 and 4 tokens), 4 query heads over 2 kv heads.
  const std::vector<int64_t> seq = {0, 3, 7};
  const AttnShape sh{4, 2, 4};
  const int64_t n = 7, qd = 16, kvd = 8;
  Vec q = random_vec(n * qd, 16), k = random_vec(n * kvd, 17), v = random_vec(n * kvd, 18), R = random_vec(n * qd, 19);
  auto loss = [&] {
    Vec out(n * qd), probs(attn_probs_size(seq.data(), 2, 4));
    attention_forward(out.data(), probs.data(), q.data(), k.data(), v.data(), seq.data(), 2, sh, nullptr);
    return dot(out, R);
  };
  Vec out(n * qd), probs(attn_probs_size(seq.data(), 2, 4));
  attention_forward(out.data(), probs.data(), q.data(), k.data(), v.data(), seq.data(), 2, sh, nullptr);
  Vec dq(n * qd, 0.0), dk(n * kvd, 0.0), dv(n * kvd, 0.0);
  attention_backward(dq.data(), dk.data(), dv.data(), R.data(), probs.data(), q.data(), k.data(), v.data(),
                     seq.data(), 2, sh, nullptr);
  check_grad(q, dq, loss, "dq");
  check_grad(k, dk, loss, "dk");
  check_grad(v, dv, loss, "dv");
  // Causality: the first sequence's output does not depend on the second's keys.
  Vec dk1(n * kvd, 0.0), dv1(n * kvd, 0.0), dq1(n * qd, 0.0), R1(n * qd, 0.0);
  for (int64_t i = 0; i < 3 * qd; ++i) R1[i] = R[i];
  attention_backward(dq1.data(), dk1.data(), dv1.data(), R1.data(), probs.data(), q.data(), k.data(), v.data(),
                     seq.data(), 2, sh, nullptr);
  for (int64_t i = 3 * kvd; i < n * kvd; ++i) EXPECT_EQ(dk1[i], 0.0);
  for (int64_t i = 3 * kvd; i < n * kvd; ++i) EXPECT_EQ(dv1[i], 0.0);
}

TEST(TrainOps, SwigluGradient) {
  const int64_t n = 12;
  Vec g = random_vec(n, 20, 2.0), u = random_vec(n, 21), R = random_vec(n, 22);
  auto loss = [&] {
    Vec out(n);
    swiglu_forward(out.data(), g.data(), u.data(), n);
    return dot(out, R);
  };
  Vec dg(n, 0.0), du(n, 0.0);
  swiglu_backward(dg.data(), du.data(), R.data(), g.data(), u.data(), n);
  check_grad(g, dg, loss, "dgate");
  check_grad(u, du, loss, "dup");
  double o, g1 = 1, u1 = 2;
  swiglu_forward(&o, &g1, &u1, 1);
  EXPECT_NEAR(o, 2.0 / (1 + std::exp(-1.0)), 1e-15);
}

TEST(TrainOps, LogprobGradient) {
  const int64_t n = 4, V = 6;
  const std::vector<int32_t> targets = {2, -1, 0, 5};
  Vec logits = random_vec(n * V, 23, 2.0), R = random_vec(n, 24);
  auto loss = [&] {
    Vec l = logits, lp(n);
    logprob_forward(l.data(), lp.data(), targets.data(), n, V, nullptr);
    return dot(lp, R);
  };
  Vec probs = logits, lp(n);
  logprob_forward(probs.data(), lp.data(), targets.data(), n, V, nullptr);
  // By hand: log-softmax of row 0 at index 2.
  double lse = 0;
  for (int64_t v = 0; v < V; ++v) lse += std::exp(logits[v]);
  EXPECT_NEAR(lp[0], logits[2] - std::log(lse), 1e-12);
  EXPECT_EQ(lp[1], 0.0);
  Vec dl(n * V);
  logprob_backward(dl.data(), probs.data(), R.data(), targets.data(), n, V, nullptr);
  check_grad(logits, dl, loss, "dlogits");
  // In place (dlogits aliasing probs), as the transformer uses it.
  logprob_backward(probs.data(), probs.data(), R.data(), targets.data(), n, V, nullptr);
  for (size_t i = 0; i < dl.size(); ++i) EXPECT_DOUBLE_EQ(probs[i], dl[i]);
}
