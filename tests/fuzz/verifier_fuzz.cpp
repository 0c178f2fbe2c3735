// libFuzzer entry point for the answer verifier (src/eval/verifier.cpp), which scores
// untrusted model output against a reference on every GRPO sample and eval record.
// Input: "<kind>\0<gold answer>\0<model output>" (missing parts are empty). kind
// "countdown" reads the gold part as integers "n1 n2 ... target"; anything else is
// math. Every public function runs on the parts; none may crash, throw, hang or
// recurse deeply, and the few invariants below must hold (__builtin_trap otherwise).
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string>
#include <string_view>
#include <vector>

#include "eval/verifier.hpp"

namespace {

void check(bool ok) {
  if (!ok) __builtin_trap();
}

std::string_view next_part(std::string_view* rest) {
  const size_t z = rest->find('\0');
  const std::string_view part = rest->substr(0, z);
  *rest = z == std::string_view::npos ? std::string_view() : rest->substr(z + 1);
  return part;
}

// Integers of the countdown gold part: the last is the target.
std::vector<int64_t> integers(std::string_view s) {
  std::vector<int64_t> out;
  int64_t v = 0;
  bool in_number = false;
  for (char c : s) {
    if (c >= '0' && c <= '9' && v < 1000000000) {
      v = v * 10 + (c - '0');
      in_number = true;
    } else if (in_number) {
      out.push_back(v);
      v = 0;
      in_number = false;
    }
  }
  if (in_number) out.push_back(v);
  return out;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace r1::eval;
  std::string_view rest(reinterpret_cast<const char*>(data), size);
  const std::string_view kind = next_part(&rest), gold = next_part(&rest), output = rest;

  Reference ref;
  if (kind == "countdown") {
    std::vector<int64_t> nums = integers(gold);
    ref.verifier = "countdown";
    if (!nums.empty()) {
      ref.target = nums.back();
      nums.pop_back();
    }
    ref.numbers = nums;
  } else {
    ref.answer = std::string(gold);
  }
  // The answer text is what follows the reasoning, as the evaluator and GRPO pass it.
  const size_t think_end = output.rfind("</think>");
  const std::string_view answer_text = think_end == std::string_view::npos ? output : output.substr(think_end + 8);
  for (std::string_view text : {output, answer_text}) {
    const Verdict v = score_answer(ref, text);
    const auto extracted = extract_answer(text);
    check(v.has_answer == extracted.has_value());
    if (extracted) check(v.extracted == *extracted);
    if (v.correct) check(v.has_answer);
    (void)extract_boxed(text);
  }

  // The equivalence functions on the raw parts in both roles.
  (void)answers_equal(output, gold);
  (void)answers_equal(gold, output);
  (void)verify_countdown(output, ref.numbers, ref.target);
  (void)gsm8k_reference(gold);
  for (std::string_view s : {gold, output}) {
    const std::string key = vote_key(s);
    check(key == vote_key(s));  // deterministic
    const std::string norm = normalize_answer(s);
    check(norm == normalize_answer(s));
    if (const auto x = parse_number(s)) check(*x == *x);  // never NaN
  }
  // A number equals itself (unless "####" makes the reference a GSM8K answer field,
  // which is reduced to the text after the last "####" first).
  if (parse_number(gold) && gold.size() <= kMaxAnswerBytes && gold.find("####") == std::string_view::npos)
    check(answers_equal(gold, gold));
  return 0;
}
