// The verifier on hostile model output and references (megabytes long, deeply
// nested): no stack overflow (the old std::regex code recursed once per character),
// no exception, time linear in the text, and the documented answer-size limits.
#include <gtest/gtest.h>

#include <chrono>
#include <string>

#include "eval/verifier.hpp"

using namespace r1::eval;

namespace {

double seconds_since(std::chrono::steady_clock::time_point t0) {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
}

std::string repeat(std::string_view s, size_t n) {
  std::string out;
  out.reserve(s.size() * n);
  for (size_t i = 0; i < n; ++i) out += s;
  return out;
}

TEST(EvalVerifierLimits, MegabytesOfDigitsInTheAnswer) {
  const std::string digits(4 << 20, '7');
  for (const std::string& text : {"\\boxed{" + digits + "}", "The answer is " + digits, "#### " + digits}) {
    const Verdict v = score_answer(Reference{.answer = "5"}, text);
    EXPECT_TRUE(v.has_answer);
    EXPECT_FALSE(v.correct);
    EXPECT_EQ(v.extracted.size(), digits.size());
  }
  // Over kMaxAnswerBytes an answer is not compared, even with itself.
  EXPECT_FALSE(answers_equal(digits, digits));
  EXPECT_FALSE(parse_number(digits).has_value());
  EXPECT_EQ(vote_key(digits), digits);
  EXPECT_EQ(normalize_answer(digits), digits);
  // Up to the limit it still is.
  const std::string at_limit(kMaxAnswerBytes, '7');
  EXPECT_TRUE(answers_equal(at_limit, at_limit));
}

TEST(EvalVerifierLimits, MegabyteReferences) {
  const std::string ref = repeat("12", 1 << 20);
  EXPECT_FALSE(answers_equal("12", ref));
  EXPECT_FALSE(answers_equal("12", "(" + ref + ")"));
  // A GSM8K reference is reduced before the limit applies: a long worked solution is fine.
  EXPECT_TRUE(answers_equal("72", repeat("Natalia sold 48/2 = 24 clips. ", 40000) + "#### 72"));
}

TEST(EvalVerifierLimits, DeeplyNestedBoxesAreLinear) {
  const size_t n = 300000;  // ~2 MB of "\boxed{"
  const auto t0 = std::chrono::steady_clock::now();
  const std::string closed = repeat("\\boxed{", n) + "7" + std::string(n, '}');
  EXPECT_EQ(extract_boxed(closed), "7");  // the one that starts last
  const std::string open = repeat("\\boxed{", n) + "7";
  EXPECT_EQ(extract_boxed(open), std::nullopt);
  // Unclosed ones after a closed one: the closed one is found.
  EXPECT_EQ(extract_boxed("\\fbox{3} " + repeat("\\boxed{\\fbox{", n)), "3");
  EXPECT_EQ(extract_answer("\\fbox{3} " + repeat("\\boxed{ ", n)), "3");
  const Verdict v = score_answer(Reference{.answer = "7"}, closed);
  EXPECT_TRUE(v.correct);
  // Quadratic scanning would take minutes here; linear takes milliseconds.
  EXPECT_LT(seconds_since(t0), 5.0);
}

TEST(EvalVerifierLimits, LongAnswersWithLatexStayFast) {
  const auto t0 = std::chrono::steady_clock::now();
  for (std::string_view unit : {"\\text{", "\\frac{", "{", "\\left(", "x^{2}", "\\sqrt1", ".", "(B", "option "}) {
    std::string s = repeat(unit, kMaxAnswerBytes / unit.size());
    s.resize(kMaxAnswerBytes);
    answers_equal(s, s);
    answers_equal(s, "B");
    vote_key(s);
    verify_countdown(s, {1, 2}, 3);
  }
  EXPECT_LT(seconds_since(t0), 5.0);
}

TEST(EvalVerifierLimits, NumbersOutOfRangeDoNotThrow) {
  EXPECT_NO_THROW(answers_equal("1e400", "5"));
  EXPECT_FALSE(answers_equal("1e400", "5"));
  EXPECT_FALSE(answers_equal("1e-400", "0"));
  EXPECT_TRUE(answers_equal("1e400", "1e400"));  // compared as strings
  EXPECT_FALSE(parse_number("1e400").has_value());
  EXPECT_NO_THROW(vote_key("99999999e999"));
  EXPECT_NO_THROW(score_answer(Reference{.answer = "1,000,000e999"}, "\\boxed{1e999}"));
  EXPECT_EQ(*parse_number("1e300"), 1e300);
}

TEST(EvalVerifierLimits, CountdownNesting) {
  EXPECT_TRUE(verify_countdown(std::string(10, '(') + "1+2" + std::string(10, ')') + "*7", {1, 2, 7}, 21));
  const int deep = kMaxCountdownNesting + 1;
  EXPECT_FALSE(verify_countdown(std::string(deep, '(') + "1+2" + std::string(deep, ')') + "*7", {1, 2, 7}, 21));
  const size_t huge = 4 << 20;
  EXPECT_FALSE(verify_countdown(std::string(huge, '(') + "1" + std::string(huge, ')'), {1}, 1));
}

}  // namespace
