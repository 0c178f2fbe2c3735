// A synthetic reasoning task with a programmatic teacher that writes step-by-step
// traces, for distillation (SFT), RL prompts (GRPO) and evaluation.
//
// Kinds:
//   add        a + b, column by column from the right with carries; each line drops
//              the digits already used, so the next digits are always the last ones
//              before a delimiter, and keeps the partial result ("So far ...").
//   mul        a * d (d one digit), the same column method.
//   countdown  reach a target from 3 (in-distribution) or 4 (harder) numbers with
//              + - * /, each number used once; the trace shows a few failed attempts,
//              then the solution; the answer is the expression.
// Two difficulties: easy (add: up to 3 digits; mul: 2-3 digits; countdown: 3
// numbers) and hard (add and mul: 4-5 digits; countdown: 4 numbers). Splits:
//   id     easy only (the in-distribution test set)
//   ood    hard only (the harder test set)
//   train  easy, with 1 problem in 8 hard: distillation sees the harder kind rarely
//   grpo   half and half: RL practises most where the distilled model is weak
// Problems are assigned to a train side or a test side by a hash of the problem
// itself, so "train" and "grpo" never share a problem with "id" or "ood", whatever
// the seeds.
//
// Contract: the same options give the same problems (distinct within one call for
// the id and ood splits; train and grpo draw with replacement); every trace is checked
// against the answer when it is written (the teacher never writes a wrong trace).
#pragma once
#include <cstdint>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

namespace r1::train {

struct TaskProblem {
  std::string id;          // "<kind>-<split>-<n>"
  std::string kind;        // add | mul | countdown
  std::string split;       // train | id | ood | grpo
  std::string question;    // the user message
  std::string reasoning;   // the teacher's trace (without <think> tags)
  std::string content;     // the answer text after the reasoning, with \boxed{...}
  std::string answer;      // the reference answer (a number, or the target for countdown)
  std::vector<int64_t> numbers;  // countdown only
  int64_t target = 0;            // countdown only
};

struct TaskOptions {
  std::vector<std::string> kinds = {"add", "mul", "countdown"};
  std::string split = "train";
  int64_t n = 1000;
  uint64_t seed = 1;
};

std::vector<std::string> task_kinds();

// The teacher's trace for a + b (op '+') or a * d (op '*', d one digit), a, b >= 0.
std::string arithmetic_trace(char op, int64_t a, int64_t b);
// Throws r1::Error for an unknown kind or split, or n < 0.
std::vector<TaskProblem> generate_tasks(const TaskOptions& o);

// One JSONL record: {"id","kind","split","question","answer",["numbers","target",
// "verifier":"countdown"], "messages":[user, assistant]}. The assistant turn carries
// the trace in "reasoning_content" (think_in_content false) or as
// "<think>\n...\n</think>\n\n" + content in "content" (think_in_content true).
nlohmann::ordered_json task_to_json(const TaskProblem& p, bool think_in_content);

}  // namespace r1::train
