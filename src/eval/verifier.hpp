// Answer extraction and verification for math-style evaluation and RL rewards.
//
// Extraction (extract_answer), from the answer text after the reasoning:
//   1. the last \boxed{...} (or \fbox{...}), braces nested to any depth; also
//      "\boxed 5" without braces;
//   2. else the last GSM8K-style "#### <answer>" line;
//   3. else the last "answer is <x>" / "Answer: <x>" (to the end of the line).
// No answer otherwise (the last number in the text is NOT taken: a reward must be
// earned with a marked answer).
//
// Equivalence (answers_equal(given, reference)):
//   - LaTeX wrappers are removed: $..$, \(..\), \[..\], \left/\right, spacing
//     commands, \text{..}/\mathrm{..}/\textbf{..}/\mbox{..} (unwrapped; a \text{..}
//     right after a number is a unit and dropped), degrees, percent signs, \$,
//     "{,}" thousands separators, a trailing period, a leading "x =".
//   - Numbers compare by value (relative 1e-9): integers, decimals, 1e3, "1,234,567"
//     thousands groups, a/b, \frac{a}{b}, \dfrac, \tfrac, \frac12, signs, -\frac..,
//     a number followed by unit words ("5 cm"), a single value in parentheses.
//   - A reference that is one letter A-J (optionally "(B)") is a multiple-choice
//     key: the given answer matches when it names that letter ("B", "(B)", "B)",
//     "B. text", "\text{(B)}", "option B").
//   - Otherwise the normalised strings compare (spaces removed, \dfrac -> \frac,
//     \frac12 -> \frac{1}{2}, \sqrt2 -> \sqrt{2}, x^{2} -> x^2, outer braces dropped, letters
//     lower-cased when there is no LaTeX command).
//   - A GSM8K reference "... #### 72" is reduced to "72" first.
//
// Limits (model output and references are untrusted and may be megabytes long):
// every function here runs in time linear in its input, or bounded by
// kMaxAnswerBytes, and never recurses deeper than a small constant (no std::regex:
// libstdc++'s recurses once per character). extract_* scan the whole text in one
// pass. An answer or reference longer than kMaxAnswerBytes (after the GSM8K "####"
// reduction) is not compared: answers_equal and verify_countdown give false,
// parse_number nullopt, and normalize_answer / vote_key return it unchanged. A
// countdown expression with parentheses nested deeper than kMaxCountdownNesting is
// rejected. A number out of double's range ("1e400") is not a number: it compares
// as a string.
#pragma once
#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace r1::eval {

inline constexpr size_t kMaxAnswerBytes = 1024;
inline constexpr int kMaxCountdownNesting = 64;

std::optional<std::string> extract_boxed(std::string_view text);
std::optional<std::string> extract_answer(std::string_view text);

// The reference answer of a GSM8K "answer" field (text after the last "####"), or
// the text itself when there is no "####".
std::string gsm8k_reference(std::string_view answer_field);

// Value of a plain or LaTeX number (see above), or nullopt.
std::optional<double> parse_number(std::string_view s);
// The normalised form used for string comparison and majority votes.
std::string normalize_answer(std::string_view s);
// A key for majority voting: the number (printed with 12 significant digits) when
// the answer is numeric, else normalize_answer().
std::string vote_key(std::string_view s);

bool answers_equal(std::string_view given, std::string_view reference);

// Countdown: expr uses exactly the given numbers (each once, as a multiset) with
// + - * / (also × ÷) and parentheses, and evaluates exactly to target.
bool verify_countdown(std::string_view expr, const std::vector<int64_t>& numbers, int64_t target);

// What a scored sample is checked against.
struct Reference {
  std::string answer;               // for "math" (GSM8K "####" form accepted)
  std::string verifier = "math";    // "math" | "countdown"
  std::vector<int64_t> numbers;     // countdown
  int64_t target = 0;               // countdown
};

struct Verdict {
  bool has_answer = false;          // an answer was extracted
  bool correct = false;
  std::string extracted;
};
// Scores the answer text (after the reasoning).
Verdict score_answer(const Reference& ref, std::string_view answer_text);

}  // namespace r1::eval
