#include "eval/metrics.hpp"

#include <algorithm>
#include <cassert>
#include <map>

namespace r1::eval {

double pass_at_k(int n, int c, int k) {
  assert(0 <= c && c <= n && 1 <= k && k <= n);
  if (n - c < k) return 1.0;
  double fail = 1.0;  // C(n-c, k) / C(n, k) = prod_{i=n-c+1}^{n} (1 - k / i)
  for (int i = n - c + 1; i <= n; ++i) fail *= 1.0 - static_cast<double>(k) / i;
  return 1.0 - fail;
}

bool majority_correct(const std::vector<SampleOutcome>& outcomes, int k) {
  std::map<std::string, int> count;
  std::string best;
  int best_count = 0;
  bool best_correct = false;
  for (int i = 0; i < k && i < static_cast<int>(outcomes.size()); ++i) {
    const SampleOutcome& o = outcomes[static_cast<size_t>(i)];
    if (o.vote.empty()) continue;
    const int c = ++count[o.vote];
    if (c > best_count) {  // strictly more: ties keep the answer that got there first
      best_count = c;
      best = o.vote;
      best_correct = o.correct;
    }
  }
  return best_count > 0 && best_correct;
}

Summary summarize(const std::vector<std::vector<SampleOutcome>>& problems) {
  Summary s;
  int k = 0;
  for (const auto& p : problems)
    if (!p.empty()) k = k == 0 ? static_cast<int>(p.size()) : std::min(k, static_cast<int>(p.size()));
  s.k = k;
  if (k == 0) return s;
  s.pass_at.assign(static_cast<size_t>(k), 0.0);
  double rt = 0, tt = 0, tr = 0, an = 0;
  for (const auto& p : problems) {
    if (p.empty()) continue;
    ++s.problems;
    const int n = static_cast<int>(p.size());
    int c = 0;
    for (const SampleOutcome& o : p) {
      c += o.correct;
      rt += static_cast<double>(o.reasoning_tokens);
      tt += static_cast<double>(o.tokens);
      tr += o.truncated;
      an += !o.vote.empty();
      ++s.samples;
    }
    s.pass1 += static_cast<double>(c) / n;
    for (int j = 1; j <= k; ++j) s.pass_at[static_cast<size_t>(j - 1)] += pass_at_k(n, c, j);
    s.maj_k += majority_correct(p, k);
  }
  const auto np = static_cast<double>(s.problems), ns = static_cast<double>(s.samples);
  s.pass1 /= np;
  for (double& v : s.pass_at) v /= np;
  s.pass_k = s.pass_at.back();
  s.maj_k /= np;
  s.mean_reasoning_tokens = rt / ns;
  s.mean_tokens = tt / ns;
  s.truncated_share = tr / ns;
  s.answered_share = an / ns;
  return s;
}

}  // namespace r1::eval
