// Answer extraction and equivalence on hand-checked pairs: every row below was
// written and judged by hand (is `given` a correct answer for `reference`?).
#include <gtest/gtest.h>

#include "eval/verifier.hpp"

using namespace r1::eval;

namespace {

struct Pair {
  const char* given;
  const char* reference;
  bool equal;
};

// clang-format off
const Pair kPairs[] = {
    // integers
    {"42", "42", true}, {"42", "43", false}, {"-7", "-7", true}, {"-7", "7", false}, {"+5", "5", true},
    {"0", "0", true}, {"0", "-0", true}, {"007", "7", true}, {"100", "1000", false}, {"12", "21", false},
    {" 42 ", "42", true}, {"42.", "42", true}, {"42.0", "42", true}, {"42.00", "42", true}, {"42.01", "42", false},
    {"1000000", "1000000", true}, {"999999", "1000000", false}, {"3", "3.0", true}, {"-0.0", "0", true},
    {"17", "-17", false},
    // thousands separators
    {"1,000", "1000", true}, {"1,234,567", "1234567", true}, {"1{,}000", "1000", true}, {"12,345.5", "12345.5", true},
    {"1,000", "100", false}, {"1,00", "100", false}, {"10,000", "10000", true}, {"2,500", "2500", true},
    {"1,2", "12", false}, 
    // decimals
    {"0.5", "0.5", true}, {".5", "0.5", true}, {"0.50", "0.5", true}, {"0.5", "0.05", false}, {"3.14", "3.14", true},
    {"3.14", "3.1416", false}, {"2.5", "5/2", true}, {"0.25", "\\frac{1}{4}", true}, {"0.75", "3/4", true},
    {"0.333", "1/3", false}, {"0.3333333333", "1/3", true}, {"1.5", "\\frac32", true}, {"-0.5", "-\\frac{1}{2}", true},
    {"0.2", "1/5", true}, {"0.125", "\\dfrac{1}{8}", true}, {"12.50", "12.5", true}, {"1.0", "1", true},
    {"2.0001", "2", false}, {"100.0", "100", true}, {"0.1", "0.10", true},
    // fractions
    {"1/2", "0.5", true}, {"\\frac{1}{2}", "0.5", true}, {"\\frac{1}{2}", "1/2", true}, {"\\dfrac{1}{2}", "1/2", true},
    {"\\tfrac{1}{2}", "\\frac{1}{2}", true}, {"\\frac12", "\\frac{1}{2}", true}, {"\\frac{2}{4}", "\\frac{1}{2}", true},
    {"2/4", "1/2", true}, {"\\frac{3}{4}", "\\frac{4}{3}", false}, {"-\\frac{3}{4}", "-0.75", true},
    {"\\frac{-3}{4}", "-0.75", true}, {"\\frac{3}{-4}", "-0.75", true}, {"-3/4", "-\\frac{3}{4}", true},
    {"\\frac{10}{3}", "3.3333333333", true}, {"\\frac{22}{7}", "3.14", false}, {"1/3", "\\frac{1}{3}", true},
    {"5/1", "5", true}, {"\\frac{6}{3}", "2", true}, {"\\frac{1}{0}", "0", false}, {"1/0", "1/0", true},
    {"\\frac{7}{2}", "3.5", true}, {"\\frac{1}{2}", "\\frac{1}{3}", false}, {"\\frac{100}{25}", "4", true},
    {"\\dfrac{9}{12}", "0.75", true}, {"\\frac 12", "0.5", true},
    // LaTeX wrappers
    {"$42$", "42", true}, {"$$42$$", "42", true}, {"\\(42\\)", "42", true}, {"\\[42\\]", "42", true},
    {"\\$42", "42", true}, {"$\\$42$", "42", true}, {"42\\%", "42", true}, {"42%", "42", true},
    {"90^\\circ", "90", true}, {"90^{\\circ}", "90", true}, {"90°", "90", true}, {"\\left(3\\right)", "(3)", true},
    {"\\!1000", "1000", true}, {"1\\,000", "1000", true}, {"\\displaystyle\\frac{1}{2}", "0.5", true},
    {"\\text{42}", "42", true}, {"\\textbf{42}", "42", true}, {"\\mathbf{7}", "7", true}, {"\\mbox{7}", "7", true},
    {"5\\text{ cm}", "5", true}, {"5 \\text{cm}", "5", true}, {"12\\text{ dollars}", "12", true},
    {"\\text{5 cm}", "5", true}, {"x = 5", "5", true}, {"x=5", "5", true}, {"y = -2", "-2", true},
    {"n = 12", "12", true}, {"x = 5", "6", false}, {"−3", "-3", true}, {"$-\\frac{1}{2}$", "-0.5", true},
    {"\\left( \\frac{1}{2} \\right)", "\\frac{1}{2}", true},
    // symbolic answers (normalised string comparison)
    {"\\sqrt{2}", "\\sqrt{2}", true}, {"\\sqrt2", "\\sqrt{2}", true}, {"\\sqrt{3}", "\\sqrt{2}", false},
    {"2\\sqrt{2}", "2\\sqrt2", true}, {"\\frac{\\sqrt{3}}{2}", "\\dfrac{\\sqrt{3}}{2}", true},
    {"\\frac{\\sqrt{3}}{2}", "\\frac{\\sqrt{2}}{2}", false}, {"\\pi", "\\pi", true}, {"2\\pi", "2 \\pi", true},
    {"\\frac{\\pi}{2}", "\\frac{\\pi}{3}", false}, {"(1, 2)", "(1,2)", true}, {"(1,2)", "(2,1)", false},
    {"[0, 1)", "[0,1)", true}, {"[0,1]", "[0,1)", false}, {"x^2+1", "x^2 + 1", true}, {"x^2+1", "x^2-1", false},
    {"{5}", "5", true}, {"{x+1}", "x+1", true}, {"\\{1,2,3\\}", "\\{1, 2, 3\\}", true},
    {"yes", "Yes", true}, {"Yes", "no", false}, {"True", "true", true}, {"\\text{yes}", "yes", true},
    {"east", "East", true}, {"\\infty", "\\infty", true}, {"-\\infty", "\\infty", false}, 
    {"3x", "3x", true}, {"3x", "3y", false}, {"\\frac{x}{2}", "\\dfrac{x}{2}", true}, {"e^{2}", "e^2", true},
     {"2^{10}", "2^{10}", true},
    // GSM8K references
    {"72", "Natalia sold 48/2 = 24 clips in May.\n#### 72", true},
    {"72", "#### 72", true}, {"73", "#### 72", false}, {"1,080", "#### 1080", true}, {"$18", "#### 18", true},
    {"18.00", "#### 18", true}, {"5", "He has 5 apples.\n#### 5", true}, {"-3", "#### -3", true},
    {"3", "#### -3", false}, {"624", "... so 624 in total\n#### 624", true},
    // multiple choice
    {"B", "B", true}, {"(B)", "B", true}, {"B)", "B", true}, {"B.", "B", true}, {"B. 42", "B", true},
    {"B: 42", "B", true}, {"\\text{(B)}", "B", true}, {"\\textbf{B}", "B", true}, {"option B", "B", true},
    {"Option B", "(B)", true}, {"Answer: C", "C", true}, {"C", "B", false}, {"(C)", "(B)", false},
    {"A", "(A)", true}, {"E", "E", true}, {"J", "J", true}, {"42", "B", false},
    {"Both", "B", false}, {"(D) 17", "D", true}, {"D", "A", false}, {"choice A", "A", true},
    {"The answer", "A", false},
    // degenerate
    {"", "5", false}, {"5", "", false}, {"   ", "5", false}, {"$$", "5", false}, 
    {"5 apples", "5", true}, {"55", "5", false}, {"5.5.5", "5.5", false}, 
    {"\\frac{1}{2", "0.5", false}, {"--5", "5", true}, {"++5", "5", true}, {"+-5", "-5", true},
    {"1e3", "1000", true},  {"NaN", "NaN", true},
    {"None", "none", true}, {"0.001", "0", false}, {"1000000.5", "1000000", false},
    {"123456789", "123456789", true}, {"123456788", "123456789", false}, {"3.0e0", "3", true},
    // more of each kind
    {"-12", "-12.0", true}, {"-12", "12", false}, {"1.25", "\\frac{5}{4}", true}, {"\\frac{5}{4}", "1.2", false},
    {"0.6", "\\frac{3}{5}", true}, {"\\frac{3}{5}", "0.66", false}, {"2/3", "\\frac{4}{6}", true},
    {"\\frac{4}{6}", "\\frac{3}{4}", false}, {"50\\%", "50", true}, {"50", "0.5", false}, {"\\$1,250", "1250", true},
    {"1,250.00", "1250", true}, {"$1{,}250$", "1250", true}, {"x = \\frac{1}{2}", "0.5", true},
    {"t = 3.5", "\\frac{7}{2}", true}, {"\\frac{\\pi}{4}", "\\frac{\\pi}{4}", true},
    {"\\frac{\\pi}{4}", "\\frac{\\pi}{2}", false}, {"3\\sqrt{5}", "3\\sqrt5", true}, {"\\sqrt{5}", "5", false},
    {"(2,3)", "(3,2)", false}, {"(-1, 4]", "(-1,4]", true}, {"\\text{Monday}", "Monday", true},
    {"monday", "Tuesday", false}, {"(E)", "E", true}, {"F", "E", false}, {"(A) 12", "A", true}, {"A.", "(A)", true},
    {"5", "Total 2 + 3 = 5\n#### 5", true}, {"6", "Total 2 + 3 = 5\n#### 5", false}, {"2,000", "#### 2000", true},
    {"1999", "#### 2000", false}, {"0.5", "#### 0.5", true}, {"-\\frac{1}{2}", "\\frac{1}{2}", false},
    {"12 \\text{ meters}", "12", true}, {"12 meters", "13", false}, {"7", "(7)", true}, {"7", "7.000", true},
    {"7.0", "6.9999999", false},
};
// clang-format on

}  // namespace

TEST(EvalVerifier, HandCheckedPairs) {
  int n = 0;
  for (const Pair& p : kPairs) {
    EXPECT_EQ(answers_equal(p.given, p.reference), p.equal) << "given '" << p.given << "' reference '" << p.reference << "'";
    ++n;
  }
  EXPECT_GE(n, 200);
}

TEST(EvalVerifier, BoxedExtraction) {
  EXPECT_EQ(extract_boxed("so \\boxed{42}."), "42");
  EXPECT_EQ(extract_boxed("\\boxed{\\frac{1}{2}}"), "\\frac{1}{2}");
  EXPECT_EQ(extract_boxed("\\boxed{\\frac{\\sqrt{3}}{\\{2\\}}} end"), "\\frac{\\sqrt{3}}{\\{2\\}}");
  EXPECT_EQ(extract_boxed("first \\boxed{1} then \\boxed{2}"), "2");
  EXPECT_EQ(extract_boxed("\\fbox{7} and later \\boxed{8}"), "8");
  EXPECT_EQ(extract_boxed("\\boxed{8} and later \\fbox{7}"), "7");
  EXPECT_EQ(extract_boxed("$\\boxed 5$"), "5");
  EXPECT_EQ(extract_boxed("\\boxed{{a}{b}}"), "{a}{b}");
  EXPECT_EQ(extract_boxed("\\boxed{}"), "");
  EXPECT_FALSE(extract_boxed("\\boxed{unclosed"));
  EXPECT_FALSE(extract_boxed("no box here"));
  EXPECT_EQ(extract_boxed("\\boxed{1} \\boxed{2"), "1");  // the unclosed later one does not count
}

TEST(EvalVerifier, AnswerExtraction) {
  EXPECT_EQ(extract_answer("The total is \\boxed{72}."), "72");
  EXPECT_EQ(extract_answer("Adding up...\n#### 72"), "72");
  EXPECT_EQ(extract_answer("#### 1,080\n"), "1,080");
  EXPECT_EQ(extract_answer("So the answer is 12."), "12");
  EXPECT_EQ(extract_answer("The answer is: (B)"), "(B)");
  EXPECT_EQ(extract_answer("Answer: C"), "C");
  EXPECT_EQ(extract_answer("answer is 3\n#### 4"), "4");  // #### is preferred to 'answer is'
  EXPECT_EQ(extract_answer("#### 4 and \\boxed{5}"), "5");  // boxed first
  EXPECT_FALSE(extract_answer("I think it is 42"));      // no marked answer
  EXPECT_FALSE(extract_answer(""));
  EXPECT_EQ(gsm8k_reference("blah\n#### 18"), "18");
  EXPECT_EQ(gsm8k_reference("18"), "18");
}

TEST(EvalVerifier, Numbers) {
  EXPECT_DOUBLE_EQ(*parse_number("1,234"), 1234);
  EXPECT_DOUBLE_EQ(*parse_number("\\frac{3}{8}"), 0.375);
  EXPECT_DOUBLE_EQ(*parse_number("-\\dfrac{1}{4}"), -0.25);
  EXPECT_DOUBLE_EQ(*parse_number("$12.5\\%$"), 12.5);
  EXPECT_FALSE(parse_number("x+1"));
  EXPECT_EQ(vote_key("0.5"), vote_key("\\frac{1}{2}"));
  EXPECT_EQ(vote_key("1,000"), vote_key("1000"));
  EXPECT_NE(vote_key("1000"), vote_key("100"));
  EXPECT_EQ(vote_key("\\sqrt2"), vote_key("\\sqrt{2}"));
}

TEST(EvalVerifier, Countdown) {
  const std::vector<int64_t> nums = {3, 5, 4};
  EXPECT_TRUE(verify_countdown("(3 + 5) * 4", nums, 32));
  EXPECT_TRUE(verify_countdown("4 * (5 + 3)", nums, 32));
  EXPECT_TRUE(verify_countdown("(3+5)\\times 4", nums, 32));
  EXPECT_TRUE(verify_countdown("(3 + 5) × 4 = 32", nums, 32));
  EXPECT_TRUE(verify_countdown("$(3 + 5) \\cdot 4$", nums, 32));
  EXPECT_FALSE(verify_countdown("3 + 5 * 4", nums, 32));       // precedence: 23
  EXPECT_TRUE(verify_countdown("3 + 5 * 4", nums, 23));
  EXPECT_FALSE(verify_countdown("(3 + 5) * 4 * 1", nums, 32)); // extra number
  EXPECT_FALSE(verify_countdown("(5 + 5) * 4", nums, 40));     // 3 not used, 5 twice
  EXPECT_FALSE(verify_countdown("8 * 4", nums, 32));           // not the given numbers
  EXPECT_FALSE(verify_countdown("32", nums, 32));
  EXPECT_TRUE(verify_countdown("(4 - 3) * 5", nums, 5));
  EXPECT_TRUE(verify_countdown("5 / (4 - 3)", nums, 5));
  EXPECT_FALSE(verify_countdown("5 / (4 - 4)", {5, 4, 4}, 5));  // division by zero
  EXPECT_TRUE(verify_countdown("(5 * 4) / 3 * 3", {5, 4, 3, 3}, 20));
  EXPECT_FALSE(verify_countdown("5 / 4 * 3", nums, 3));        // 15/4, not an integer
  EXPECT_TRUE(verify_countdown("12 / (4 - 3) + 5", {12, 4, 3, 5}, 17));
  EXPECT_FALSE(verify_countdown("(3 + 5 * 4", nums, 23));      // unbalanced
  EXPECT_FALSE(verify_countdown("", nums, 0));
  EXPECT_FALSE(verify_countdown("3 + 5 + 4 +", nums, 12));
}

TEST(EvalVerifier, ScoreAnswer) {
  Reference r;
  r.answer = "#### 72";
  Verdict v = score_answer(r, "The total is \\boxed{72}.");
  EXPECT_TRUE(v.has_answer);
  EXPECT_TRUE(v.correct);
  EXPECT_EQ(v.extracted, "72");
  v = score_answer(r, "The total is 72.");
  EXPECT_FALSE(v.has_answer);
  EXPECT_FALSE(v.correct);
  Reference c;
  c.verifier = "countdown";
  c.numbers = {3, 5, 4};
  c.target = 32;
  EXPECT_TRUE(score_answer(c, "\\boxed{(3 + 5) * 4}").correct);
  EXPECT_FALSE(score_answer(c, "\\boxed{32}").correct);
}
