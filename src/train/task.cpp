#include "train/task.hpp"

#include <algorithm>
#include <cassert>
#include <fmt/format.h>
#include <optional>
#include <random>
#include <unordered_set>

#include "base/error.hpp"

namespace r1::train {

namespace {

using Rng = std::mt19937_64;

int64_t uniform(Rng& rng, int64_t lo, int64_t hi) { return std::uniform_int_distribution<int64_t>(lo, hi)(rng); }

int64_t random_number(Rng& rng, int digits) {
  int64_t lo = 1;
  for (int i = 1; i < digits; ++i) lo *= 10;
  return uniform(rng, digits == 1 ? 0 : lo, lo * 10 - 1);
}

// Test side of the train/test partition: 1 problem in 8, by a hash of its key.
bool test_side(const std::string& key) {
  uint64_t h = 1469598103934665603ull;
  for (unsigned char c : key) h = (h ^ c) * 1099511628211ull;
  return (h >> 29) % 8 == 0;
}

// ------------------------------------------------------------------ add / mul

std::string add_trace(int64_t a, int64_t b) {
  std::string t;
  std::string so_far;
  int64_t x = a, y = b, carry = 0;
  bool first = true;
  while (first || x > 0 || y > 0) {
    const int64_t dx = x % 10, dy = y % 10, s = dx + dy + carry;
    so_far.insert(so_far.begin(), static_cast<char>('0' + s % 10));
    t += fmt::format("{} + {}: {} + {} + {} = {}, write {}, carry {}. So far {}.\n", x, y, dx, dy, carry, s, s % 10,
                     s / 10, so_far);
    carry = s / 10;
    x /= 10, y /= 10;
    first = false;
  }
  if (carry) {
    so_far.insert(so_far.begin(), '1');
    t += fmt::format("Carry 1: write 1. So far {}.\n", so_far);
  }
  assert(so_far == std::to_string(a + b));
  t += fmt::format("Done: {} + {} = {}.", a, b, so_far);
  return t;
}

std::string mul_trace(int64_t a, int64_t d) {
  std::string t, so_far;
  int64_t x = a, carry = 0;
  bool first = true;
  while (first || x > 0) {
    const int64_t dx = x % 10, p = dx * d + carry;
    so_far.insert(so_far.begin(), static_cast<char>('0' + p % 10));
    t += fmt::format("{} * {}: {} * {} + {} = {}, write {}, carry {}. So far {}.\n", x, d, dx, d, carry, p, p % 10,
                     p / 10, so_far);
    carry = p / 10;
    x /= 10;
    first = false;
  }
  if (carry) {
    so_far = std::to_string(carry) + so_far;
    t += fmt::format("Carry {}: write {}. So far {}.\n", carry, carry, so_far);
  }
  while (so_far.size() > 1 && so_far[0] == '0') so_far.erase(0, 1);  // a * d with a = 0
  assert(so_far == std::to_string(a * d));
  t += fmt::format("Done: {} * {} = {}.", a, d, so_far);
  return t;
}

std::optional<TaskProblem> make_arith(Rng& rng, bool mul, bool hard) {
  TaskProblem p;
  int64_t a, b;
  if (mul) {
    a = random_number(rng, static_cast<int>(hard ? uniform(rng, 4, 5) : uniform(rng, 2, 3)));
    b = uniform(rng, 2, 9);
    p.question = fmt::format("What is {} * {}?", a, b);
    p.reasoning = mul_trace(a, b);
    p.answer = std::to_string(a * b);
    p.content = fmt::format("{} * {} = \\boxed{{{}}}", a, b, a * b);
  } else {
    const int la = static_cast<int>(hard ? uniform(rng, 4, 5) : uniform(rng, 1, 3));
    const int lb = static_cast<int>(uniform(rng, 1, la));
    a = random_number(rng, la);
    b = random_number(rng, lb);
    if (uniform(rng, 0, 1)) std::swap(a, b);
    p.question = fmt::format("What is {} + {}?", a, b);
    p.reasoning = add_trace(a, b);
    p.answer = std::to_string(a + b);
    p.content = fmt::format("{} + {} = \\boxed{{{}}}", a, b, a + b);
  }
  p.kind = mul ? "mul" : "add";
  return p;
}

// ------------------------------------------------------------------ countdown

struct Step {  // one operation: l op r = v
  int64_t l, r, v;
  char op;
};

std::optional<int64_t> apply(int64_t l, char op, int64_t r) {
  switch (op) {
    case '+': return l + r;
    case '-': return l > r ? std::optional<int64_t>(l - r) : std::nullopt;  // stay positive
    case '*': return l * r;
    case '/': return r > 1 && l % r == 0 ? std::optional<int64_t>(l / r) : std::nullopt;
  }
  return std::nullopt;
}

// A candidate solution: its steps (in order) and the expression text.
struct Candidate {
  std::vector<Step> steps;
  std::string expr;
  int64_t value;
};

// Every expression using all numbers: chains ((a o b) o c) o d and, for four
// numbers, pairs (a o b) o (c o d). Positive integer intermediates only.
std::vector<Candidate> enumerate(const std::vector<int64_t>& nums) {
  std::vector<Candidate> out;
  const char ops[] = {'+', '-', '*', '/'};
  std::vector<int> idx(nums.size());
  for (size_t i = 0; i < idx.size(); ++i) idx[i] = static_cast<int>(i);
  do {
    // chain
    std::vector<Candidate> cur{{{}, std::to_string(nums[idx[0]]), nums[idx[0]]}};
    for (size_t k = 1; k < idx.size(); ++k) {
      std::vector<Candidate> next;
      for (const Candidate& c : cur)
        for (char op : ops)
          if (auto v = apply(c.value, op, nums[idx[k]])) {
            Candidate n = c;
            n.steps.push_back({c.value, nums[idx[k]], *v, op});
            n.expr = (k == 1 ? c.expr : "(" + c.expr + ")") + " " + op + " " + std::to_string(nums[idx[k]]);
            n.value = *v;
            next.push_back(std::move(n));
          }
      cur = std::move(next);
    }
    for (auto& c : cur) out.push_back(std::move(c));
    // pairs
    if (idx.size() == 4 && idx[0] < idx[1] && idx[2] < idx[3] && idx[0] < idx[2])
      for (char o1 : ops)
        for (char o2 : ops)
          for (char o3 : ops) {
            auto l = apply(nums[idx[0]], o1, nums[idx[1]]), r = apply(nums[idx[2]], o2, nums[idx[3]]);
            if (!l || !r) continue;
            for (int swap = 0; swap < 2; ++swap) {
              const int64_t lv = swap ? *r : *l, rv = swap ? *l : *r;
              auto v = apply(lv, o3, rv);
              if (!v) continue;
              Candidate c;
              c.steps = {{nums[idx[0]], nums[idx[1]], *l, o1}, {nums[idx[2]], nums[idx[3]], *r, o2}};
              if (swap) std::swap(c.steps[0], c.steps[1]);
              c.steps.push_back({lv, rv, *v, o3});
              const std::string el = fmt::format("({} {} {})", c.steps[0].l, c.steps[0].op, c.steps[0].r);
              const std::string er = fmt::format("({} {} {})", c.steps[1].l, c.steps[1].op, c.steps[1].r);
              c.expr = el + " " + o3 + " " + er;
              c.value = *v;
              out.push_back(std::move(c));
            }
          }
  } while (std::next_permutation(idx.begin(), idx.end()));
  return out;
}

std::string attempt_line(const Candidate& c, int64_t target) {
  std::string s = "Try ";
  for (size_t i = 0; i < c.steps.size(); ++i)
    s += fmt::format("{}{} {} {} = {}", i ? ", " : "", c.steps[i].l, c.steps[i].op, c.steps[i].r, c.steps[i].v);
  return s + (c.value == target ? ". Yes!" : fmt::format(". {} is not {}.", c.value, target));
}

std::optional<TaskProblem> make_countdown(Rng& rng, bool hard) {
  const size_t n = hard ? 4 : 3;
  std::vector<int64_t> nums(n);
  for (auto& x : nums) x = uniform(rng, 1, hard ? 15 : 12);
  std::vector<Candidate> all = enumerate(nums);
  if (all.empty()) return std::nullopt;
  // The target: the value of a random expression, kept in a moderate range.
  const Candidate& pick = all[static_cast<size_t>(uniform(rng, 0, static_cast<int64_t>(all.size()) - 1))];
  const int64_t target = pick.value;
  if (target < 2 || target > (hard ? 300 : 150)) return std::nullopt;
  std::vector<const Candidate*> good, bad;
  for (const Candidate& c : all) (c.value == target ? good : bad).push_back(&c);
  TaskProblem p;
  p.kind = "countdown";
  p.numbers = nums;
  p.target = target;
  const std::string list = fmt::format("{}", fmt::join(nums, ", "));
  p.question = fmt::format("Using the numbers {}, make {}. Use each number once with + - * /.", list, target);
  const Candidate& sol = *good[static_cast<size_t>(uniform(rng, 0, static_cast<int64_t>(good.size()) - 1))];
  std::string t = fmt::format("Numbers {}; target {}.\n", list, target);
  const int64_t n_fail = std::min<int64_t>(static_cast<int64_t>(bad.size()), uniform(rng, 0, hard ? 3 : 2));
  for (int64_t i = 0; i < n_fail; ++i)
    t += attempt_line(*bad[static_cast<size_t>(uniform(rng, 0, static_cast<int64_t>(bad.size()) - 1))], target) + "\n";
  t += attempt_line(sol, target) + "\n";
  t += fmt::format("So {} = {}.", sol.expr, target);
  p.reasoning = std::move(t);
  p.answer = std::to_string(target);
  p.content = fmt::format("\\boxed{{{}}}", sol.expr);
  return p;
}

std::string problem_key(const TaskProblem& p) {
  if (p.kind == "countdown") return fmt::format("countdown:{}:{}", fmt::join(p.numbers, ","), p.target);
  return p.kind + ":" + p.question;
}

}  // namespace

std::string arithmetic_trace(char op, int64_t a, int64_t b) {
  if (a < 0 || b < 0 || (op == '*' && b > 9) || (op != '+' && op != '*'))
    fail("arithmetic_trace: unsupported problem {} {} {}", a, op, b);
  return op == '+' ? add_trace(a, b) : mul_trace(a, b);
}

std::vector<std::string> task_kinds() { return {"add", "mul", "countdown"}; }

std::vector<TaskProblem> generate_tasks(const TaskOptions& o) {
  if (o.n < 0) fail("task: the number of problems must not be negative");
  if (o.kinds.empty()) fail("task: no kinds given");
  for (const auto& k : o.kinds)
    if (k != "add" && k != "mul" && k != "countdown") fail("task: unknown kind '{}' (add, mul, countdown)", k);
  if (o.split != "train" && o.split != "id" && o.split != "ood" && o.split != "grpo")
    fail("task: unknown split '{}' (train, id, ood, grpo)", o.split);
  const bool want_test = o.split == "id" || o.split == "ood";
  Rng rng(o.seed * 0x9E3779B97F4A7C15ull + std::hash<std::string>{}(o.split));
  std::vector<TaskProblem> out;
  std::unordered_set<std::string> seen;
  int64_t tries = 0;
  while (static_cast<int64_t>(out.size()) < o.n) {
    if (++tries > 1000 * (o.n + 10)) fail("task: could not generate {} distinct problems", o.n);
    const std::string& kind = o.kinds[out.size() % o.kinds.size()];
    // train: 1 problem in 8 from the harder distribution; grpo: half; id: none; ood: all.
    const bool hard = o.split == "ood" || (o.split == "grpo" && uniform(rng, 0, 1) == 1) ||
                      (o.split == "train" && uniform(rng, 0, 7) == 0);
    std::optional<TaskProblem> p =
        kind == "countdown" ? make_countdown(rng, hard) : make_arith(rng, kind == "mul", hard);
    if (!p) continue;
    const std::string key = problem_key(*p);
    if (test_side(key) != want_test || (want_test && !seen.insert(key).second)) continue;
    p->split = o.split;
    p->id = fmt::format("{}-{}-{}", kind, o.split, out.size());
    out.push_back(std::move(*p));
  }
  return out;
}

nlohmann::ordered_json task_to_json(const TaskProblem& p, bool think_in_content) {
  using json = nlohmann::ordered_json;
  json j = {{"id", p.id}, {"kind", p.kind}, {"split", p.split}, {"question", p.question}, {"answer", p.answer}};
  if (p.kind == "countdown") {
    j["verifier"] = "countdown";
    j["numbers"] = p.numbers;
    j["target"] = p.target;
  }
  json assistant = {{"role", "assistant"}};
  if (think_in_content) {
    assistant["content"] = "<think>\n" + p.reasoning + "\n</think>\n\n" + p.content;
  } else {
    assistant["reasoning_content"] = p.reasoning;
    assistant["content"] = p.content;
  }
  j["messages"] = json::array({{{"role", "user"}, {"content", p.question}}, assistant});
  return j;
}

}  // namespace r1::train
