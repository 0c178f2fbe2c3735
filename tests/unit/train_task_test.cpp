// The synthetic task's teacher: traces written out by hand for a few problems,
// every generated trace's arithmetic re-checked line by line, splits disjoint and
// of the promised difficulty.
#include <gtest/gtest.h>

#include <regex>
#include <set>

#include "base/error.hpp"
#include "train/task.hpp"

using namespace r1;
using namespace r1::train;

namespace {

std::vector<TaskProblem> gen(const std::string& kinds, const std::string& split, int64_t n, uint64_t seed = 3) {
  TaskOptions o;
  o.kinds.clear();
  size_t s = 0;
  while (s <= kinds.size()) {
    size_t e = kinds.find(',', s);
    if (e == std::string::npos) e = kinds.size();
    o.kinds.push_back(kinds.substr(s, e - s));
    s = e + 1;
  }
  o.split = split;
  o.n = n;
  o.seed = seed;
  return generate_tasks(o);
}

// Checks every "x op y + c = r, write w, carry k" line of an arithmetic trace.
void check_column_lines(const std::string& trace) {
  static const std::regex add(R"((\d+) \+ (\d+) \+ (\d+) = (\d+), write (\d), carry (\d))");
  static const std::regex mul(R"((\d+) \* (\d+) \+ (\d+) = (\d+), write (\d), carry (\d))");
  int lines = 0;
  for (auto it = std::sregex_iterator(trace.begin(), trace.end(), add); it != std::sregex_iterator(); ++it, ++lines) {
    const auto& m = *it;
    const long r = std::stol(m[1]) + std::stol(m[2]) + std::stol(m[3]);
    EXPECT_EQ(std::stol(m[4]), r) << m.str();
    EXPECT_EQ(std::stol(m[5]), r % 10) << m.str();
    EXPECT_EQ(std::stol(m[6]), r / 10) << m.str();
  }
  for (auto it = std::sregex_iterator(trace.begin(), trace.end(), mul); it != std::sregex_iterator(); ++it, ++lines) {
    const auto& m = *it;
    const long r = std::stol(m[1]) * std::stol(m[2]) + std::stol(m[3]);
    EXPECT_EQ(std::stol(m[4]), r) << m.str();
    EXPECT_EQ(std::stol(m[5]), r % 10) << m.str();
    EXPECT_EQ(std::stol(m[6]), r / 10) << m.str();
  }
  EXPECT_GT(lines, 0) << trace;
}

}  // namespace

TEST(TrainTask, TracesByHand) {
  EXPECT_EQ(arithmetic_trace('+', 4827, 395),
            "4827 + 395: 7 + 5 + 0 = 12, write 2, carry 1. So far 2.\n"
            "482 + 39: 2 + 9 + 1 = 12, write 2, carry 1. So far 22.\n"
            "48 + 3: 8 + 3 + 1 = 12, write 2, carry 1. So far 222.\n"
            "4 + 0: 4 + 0 + 1 = 5, write 5, carry 0. So far 5222.\n"
            "Done: 4827 + 395 = 5222.");
  EXPECT_EQ(arithmetic_trace('+', 95, 7),
            "95 + 7: 5 + 7 + 0 = 12, write 2, carry 1. So far 2.\n"
            "9 + 0: 9 + 0 + 1 = 10, write 0, carry 1. So far 02.\n"
            "Carry 1: write 1. So far 102.\n"
            "Done: 95 + 7 = 102.");
  EXPECT_EQ(arithmetic_trace('*', 4827, 6),
            "4827 * 6: 7 * 6 + 0 = 42, write 2, carry 4. So far 2.\n"
            "482 * 6: 2 * 6 + 4 = 16, write 6, carry 1. So far 62.\n"
            "48 * 6: 8 * 6 + 1 = 49, write 9, carry 4. So far 962.\n"
            "4 * 6: 4 * 6 + 4 = 28, write 8, carry 2. So far 8962.\n"
            "Carry 2: write 2. So far 28962.\n"
            "Done: 4827 * 6 = 28962.");
  EXPECT_THROW(arithmetic_trace('*', 3, 12), Error);
}

TEST(TrainTask, AdditionTracesMatchAnIndependentRendering) {
  for (const TaskProblem& p : gen("add", "train", 50)) {
    std::smatch m;
    ASSERT_TRUE(std::regex_match(p.question, m, std::regex(R"(What is (\d+) \+ (\d+)\?)"))) << p.question;
    const long a = std::stol(m[1]), b = std::stol(m[2]);
    std::string want, so_far;
    long x = a, y = b, c = 0;
    do {
      const long s = x % 10 + y % 10 + c;
      so_far = std::to_string(s % 10) + so_far;
      want += std::to_string(x) + " + " + std::to_string(y) + ": " + std::to_string(x % 10) + " + " +
              std::to_string(y % 10) + " + " + std::to_string(c) + " = " + std::to_string(s) + ", write " +
              std::to_string(s % 10) + ", carry " + std::to_string(s / 10) + ". So far " + so_far + ".\n";
      c = s / 10;
      x /= 10;
      y /= 10;
    } while (x > 0 || y > 0);
    if (c) {
      so_far = "1" + so_far;
      want += "Carry 1: write 1. So far " + so_far + ".\n";
    }
    want += "Done: " + std::to_string(a) + " + " + std::to_string(b) + " = " + std::to_string(a + b) + ".";
    EXPECT_EQ(p.reasoning, want);
    EXPECT_EQ(p.answer, std::to_string(a + b));
    EXPECT_EQ(p.content, p.question.substr(8, p.question.size() - 9) + " = \\boxed{" + std::to_string(a + b) + "}");
  }
}

TEST(TrainTask, ArithmeticTracesAreCorrect) {
  int hard_in_train = 0;
  for (const std::string split : {"train", "id", "ood"})
    for (const TaskProblem& p : gen("add,mul", split, 400)) {
      check_column_lines(p.reasoning);
      std::smatch m;
      ASSERT_TRUE(std::regex_match(p.question, m, std::regex(R"(What is (\d+) ([+*]) (\d+)\?)"))) << p.question;
      const long a = std::stol(m[1]), b = std::stol(m[3]);
      const long r = m[2] == "+" ? a + b : a * b;
      EXPECT_EQ(p.answer, std::to_string(r));
      EXPECT_NE(p.reasoning.find("So far " + std::to_string(r) + ".\nDone"), std::string::npos) << p.reasoning;
      // Difficulty: easy up to 3 digits, hard 4-5 digits; train has 1 hard problem in 8.
      const size_t longest = std::max(std::to_string(a).size(), m[2] == "*" ? 0 : std::to_string(b).size());
      if (split == "ood") {
        EXPECT_GE(longest, 4u) << p.question;
        EXPECT_LE(longest, 5u) << p.question;
      } else if (split == "id") {
        EXPECT_LE(longest, 3u) << p.question;
      } else {
        EXPECT_LE(longest, 5u) << p.question;
        hard_in_train += longest >= 4;
      }
    }
  EXPECT_GT(hard_in_train, 400 / 8 / 2);
  EXPECT_LT(hard_in_train, 400 / 8 * 2);
}

TEST(TrainTask, CountdownSolutionsReachTheTarget) {
  for (const std::string split : {"id", "ood"})
    for (const TaskProblem& p : gen("countdown", split, 100)) {
      EXPECT_EQ(p.numbers.size(), split == "ood" ? 4u : 3u);
      EXPECT_EQ(p.answer, std::to_string(p.target));
      // Each "Try" line: every step's arithmetic is right; the last line says Yes.
      static const std::regex step(R"((\d+) ([-+*/]) (\d+) = (\d+))");
      for (auto it = std::sregex_iterator(p.reasoning.begin(), p.reasoning.end(), step); it != std::sregex_iterator();
           ++it) {
        const long l = std::stol((*it)[1]), r = std::stol((*it)[3]), v = std::stol((*it)[4]);
        const char op = (*it)[2].str()[0];
        const long want = op == '+' ? l + r : op == '-' ? l - r : op == '*' ? l * r : (r ? l / r : -1);
        EXPECT_EQ(v, want) << (*it).str();
        if (op == '/') {
          EXPECT_EQ(l % r, 0);
        }
        if (op == '-') {
          EXPECT_GT(v, 0);
        }
      }
      EXPECT_NE(p.reasoning.find("Yes!"), std::string::npos);
      EXPECT_EQ(p.content.rfind("\\boxed{", 0), 0u);
    }
}

TEST(TrainTask, SplitsAreDisjointAndDeterministic) {
  std::set<std::string> train_q;
  for (const auto& p : gen("add,mul,countdown", "train", 3000)) train_q.insert(p.question);
  for (const auto& p : gen("add,mul,countdown", "grpo", 1000)) train_q.insert(p.question);
  for (const std::string split : {"id", "ood"})
    for (const auto& p : gen("add,mul,countdown", split, 500, 99)) EXPECT_FALSE(train_q.count(p.question)) << p.question;
  const auto a = gen("add,countdown", "id", 20, 5), b = gen("add,countdown", "id", 20, 5);
  for (size_t i = 0; i < a.size(); ++i) EXPECT_EQ(a[i].reasoning, b[i].reasoning);
  EXPECT_NE(gen("add", "id", 5, 5)[0].question, gen("add", "id", 5, 6)[0].question);
  std::set<std::string> ids;
  for (const auto& p : gen("add", "id", 300)) EXPECT_TRUE(ids.insert(p.question).second) << "duplicate " << p.question;
}

TEST(TrainTask, JsonForms) {
  const TaskProblem p = gen("countdown", "id", 1)[0];
  const auto j = task_to_json(p, false);
  EXPECT_EQ(j["messages"][0]["role"], "user");
  EXPECT_EQ(j["messages"][1]["reasoning_content"], p.reasoning);
  EXPECT_EQ(j["messages"][1]["content"], p.content);
  EXPECT_EQ(j["verifier"], "countdown");
  EXPECT_EQ(j["target"], p.target);
  const auto k = task_to_json(p, true);
  EXPECT_EQ(k["messages"][1]["content"], "<think>\n" + p.reasoning + "\n</think>\n\n" + p.content);
  EXPECT_FALSE(k["messages"][1].contains("reasoning_content"));
  TaskOptions bad;
  bad.kinds = {"division"};
  EXPECT_THROW(generate_tasks(bad), Error);
  TaskOptions bad_split;
  bad_split.split = "test";
  EXPECT_THROW(generate_tasks(bad_split), Error);
}
