// Evaluation metrics over k samples per problem.
//
//   pass@1   mean over problems of (correct samples / samples): pass@1 averaged over k
//   pass@k   the unbiased estimator of Chen et al. (2021): 1 - C(n-c, k) / C(n, k)
//   maj@k    the most frequent extracted answer among the first k samples (by
//            vote_key; samples without an answer do not vote; ties go to the answer
//            seen first) is correct
//   reasoning length: mean reasoning tokens per sample; truncated: share of samples
//   that hit the token limit without finishing.
#pragma once
#include <cstdint>
#include <string>
#include <vector>

namespace r1::eval {

// 1 - C(n-c, k) / C(n, k), computed as a stable product; requires 0 <= c <= n, 1 <= k <= n.
double pass_at_k(int n, int c, int k);

struct SampleOutcome {
  bool correct = false;
  std::string vote;          // vote_key of the extracted answer; empty = no answer
  int64_t reasoning_tokens = 0;
  int64_t tokens = 0;
  bool truncated = false;
};

// Whether the majority answer among outcomes[0..k) is correct.
bool majority_correct(const std::vector<SampleOutcome>& outcomes, int k);

struct Summary {
  int64_t problems = 0, samples = 0;
  int k = 0;                         // samples per problem used for pass@k / maj@k
  double pass1 = 0, pass_k = 0, maj_k = 0;
  double mean_reasoning_tokens = 0, mean_tokens = 0;
  double truncated_share = 0, answered_share = 0;
  std::vector<double> pass_at;       // pass_at[j] = pass@(j+1), j < k
};

// Problems with fewer than k samples use what they have (k is the minimum count).
Summary summarize(const std::vector<std::vector<SampleOutcome>>& problems);

}  // namespace r1::eval
