// Hostile chat templates (they come from model files): every one below must end
// in an r1::Error naming the problem, never a crash, a hang or unbounded memory;
// and the real templates must still render. Expected values are hand-checked.
#include <gtest/gtest.h>

#include <chrono>
#include <fstream>
#include <sstream>
#include <string>

#include "base/error.hpp"
#include "tokenizer/chat_template.hpp"
#include "tokenizer/jinja.hpp"
#include "tokenizer_test_helpers.hpp"

using nlohmann::ordered_json;
using r1::jinja::Template;

namespace {

using r1::test::repeat;

std::string render(const std::string& src, const ordered_json& vars = ordered_json::object()) {
  return Template(src).render(vars);
}

void expect_error(const std::string& src, std::initializer_list<const char*> parts,
                  const ordered_json& vars = ordered_json::object()) {
  r1::test::expect_message(r1::test::jinja_error_of(src, vars), parts, src);
}

}  // namespace

// Left-nested chains are built by loops in the parser: without a height bound a
// 200 KB template made a tree whose evaluation and destruction overflowed the stack.
TEST(JinjaLimits, LongOperatorFilterAndMemberChainsAreRefused) {
  const int n = 100000;
  expect_error("{{ 1" + repeat(" + 1", n) + " }}", {"line 1", "too deep", "200"});
  expect_error("{{ x" + repeat(" ~ x", n) + " }}", {"too deep"});
  expect_error("{{ x" + repeat(" or x", n) + " }}", {"too deep"});
  expect_error("{{ x" + repeat(" == x", n) + " }}", {"too deep"});
  expect_error("{{ x" + repeat("|string", n) + " }}", {"too deep"});
  expect_error("{{ x" + repeat(".a", n) + " }}", {"too deep"});
  expect_error("{{ x" + repeat("[0]", n) + " }}", {"too deep"});
  expect_error("{{ f" + repeat("()", n) + " }}", {"too deep"});
  expect_error("{{ x" + repeat(" is defined", n) + " }}", {"too deep"});
  expect_error("\n{{ " + repeat("1 if x else ", n) + "2 }}", {"line 2", "too deep"});
  expect_error("{% if a %}" + repeat("{% elif a %}", n) + "{% endif %}", {"too deep"});
  expect_error("{{ " + repeat("[", n) + repeat("]", n) + " }}", {"too deep"});
  // Each level of a list holding a long chain adds up: the tree height is bounded,
  // not only the parser's recursion.
  // ([[1 + 1 ...] + 1 ...]: each list sits at the bottom of a chain of 100.)
  expect_error("{{ " + repeat("[", 30) + "1" + repeat(repeat(" + 1", 100) + "]", 30) + " }}", {"too deep"});
  EXPECT_EQ(render("{{ " + repeat("(", 3) + "1" + repeat(repeat(" + 1", 40) + ")", 3) + " }}"), "121");
}

TEST(JinjaLimits, ChainsWithinTheBoundStillWork) {
  EXPECT_EQ(render("{{ 1" + repeat(" + 1", 149) + " }}"), "150");
  EXPECT_EQ(render("{{ 'a'" + repeat(" ~ 'b'", 100) + " }}"), "a" + std::string(100, 'b'));
  EXPECT_EQ(render("{% if false %}{% elif false %}{% elif false %}{% else %}z{% endif %}"), "z");
}

// Values nested 100,000 deep (no syntax tree needed): freed without recursion, and
// tojson / printing refuse them.
TEST(JinjaLimits, DeeplyNestedValues) {
  const std::string build =
      "{% set ns = namespace(x=[]) %}{% for i in range(100000) %}{% set ns.x = [ns.x] %}{% endfor %}";
  EXPECT_EQ(render(build + "{{ ns.x|length }}"), "1");
  expect_error(build + "{{ ns.x|tojson }}", {"deeper than 512"});
  expect_error(build + "{{ ns.x }}", {"deeper than 512"});
  // Variables from the caller (a request's JSON) are bounded the same way.
  ordered_json deep = ordered_json::array();
  for (int i = 0; i < 2000; ++i) deep = ordered_json::array({std::move(deep)});
  expect_error("{{ 1 }}", {"nest deeper than 512"}, {{"tools", deep}});
}

// {% set ns.x = ns %} makes a namespace contain itself: tojson, printing and
// string conversion followed it until the stack overflowed.
TEST(JinjaLimits, NamespaceCycles) {
  const std::string cycle = "{% set ns = namespace() %}{% set ns.x = ns %}";
  expect_error(cycle + "{{ ns|tojson }}", {"line 1", "contains itself"});
  expect_error(cycle + "{{ ns }}", {"contains itself"});
  expect_error(cycle + "{{ ns|string }}", {"contains itself"});
  expect_error(cycle + "{{ [ns] ~ 'a' }}", {"contains itself"});
  EXPECT_EQ(render(cycle + "{{ ns.x.x.x is defined }} {{ ns == ns.x }}"), "true true");
}

// range() computed its length in doubles and stepped with signed overflow.
TEST(JinjaLimits, RangeAtTheEndsOfInt64) {
  EXPECT_EQ(render("{{ range(9223372036854775800, 9223372036854775807, 4)|list }}"),
            "[9223372036854775800, 9223372036854775804]");
  EXPECT_EQ(render("{{ range(-9223372036854775808, 9223372036854775807, 9223372036854775807)|list }}"),
            "[-9223372036854775808, -1, 9223372036854775806]");
  EXPECT_EQ(render("{{ range(0, -10, -9223372036854775808)|list }}"), "[0]");
  EXPECT_EQ(render("{{ range(5, 0, -2)|list }}"), "[5, 3, 1]");
  expect_error("{% for i in range(1000000000) %}{% endfor %}", {"range() of 1000000000 elements"});
  expect_error("{{ range(-9223372036854775808, 9223372036854775807)|length }}", {"range()"});
}

TEST(JinjaLimits, IntegerOverflowBecomesFloat) {
  // 2^63 as JavaScript prints it (shortest round trip), with the ".0" of a float.
  EXPECT_EQ(render("{{ 9223372036854775807 + 1 }}"), "9223372036854776000.0");
  EXPECT_EQ(render("{{ 10 ** 30 }}"), "1e+30");
  EXPECT_EQ(render("{{ x|abs }}", {{"x", INT64_MIN}}), "9223372036854776000.0");
  EXPECT_EQ(render("{{ 'abc'[1::9223372036854775807] }}"), "b");
  EXPECT_EQ(render("{{ 'abcdef'[4::-9223372036854775807] }}"), "e");
  expect_error("{{ (10.0 ** 30)|int }}", {"does not fit"});
  expect_error("{{ 'a'|indent(-1) }}", {"indent width"});
  expect_error("{{ 'a'|tojson(indent=100000000) }}", {"indent"});
}

// Evaluation budget: steps, string sizes, output size, time.
TEST(JinjaLimits, LoopsAndStringsAreBudgeted) {
  expect_error("{% for i in range(10000) %}{% for j in range(10000) %}{% endfor %}{% endfor %}",
               {"line 1", "evaluation steps"});
  expect_error("{% set ns = namespace(s='a') %}{% for i in range(40) %}{% set ns.s = ns.s ~ ns.s %}{% endfor %}",
               {"result of '~'", "limit of 67108864 bytes"});
  expect_error("{% set ns = namespace(s='a') %}{% for i in range(40) %}{% set ns.s = ns.s + ns.s %}{% endfor %}",
               {"result of '+'"});
  expect_error("{% set s = range(1000000)|join(',') %}{{ [s, s, s, s, s, s, s, s, s, s]|join(s) }}",
               {"result of join"});
  expect_error("{% set s = range(300)|join(',') %}{% for i in range(100000) %}{{ s }}{% endfor %}",
               {"template output"});
  expect_error("{{ ('ab' * 3) }}", {"unsupported operator '*'"});
  expect_error("{% set s = range(100000)|join(',') %}{{ s|replace('', s) }}", {"result of replace()"});
  expect_error("{% set s = range(200000)|join('') %}{{ s|replace('1', s) }}", {"replace"});
  // Doubling a list: each copy is charged per element.
  expect_error("{% set ns = namespace(l=[1]) %}{% for i in range(64) %}{% set ns.l = ns.l + ns.l %}{% endfor %}",
               {"evaluation steps"});
  // A recursive macro that loops at every level.
  expect_error("{% macro f(n) %}{% if n < 3 %}{% for i in range(1000) %}{{ f(n + 1) }}{% endfor %}{% endif %}"
               "{% endmacro %}{{ f(0) }}",
               {"evaluation steps"});
}

TEST(JinjaLimits, CustomLimits) {
  const Template t("{% for i in range(n) %}{{ i }}{% endfor %}");
  EXPECT_EQ(t.render({{"n", 5}}), "01234");
  r1::jinja::Limits small;
  small.max_steps = 100;
  EXPECT_THROW(t.render({{"n", 100}}, small), r1::Error);
  r1::jinja::Limits unlimited;
  unlimited.max_steps = INT64_MAX;  // no overflow of the next check point
  EXPECT_EQ(t.render({{"n", 3}}, unlimited), "012");
  r1::jinja::Limits tiny_output;
  tiny_output.max_bytes = 4;
  EXPECT_EQ(t.render({{"n", 4}}, tiny_output), "0123");
  EXPECT_THROW(t.render({{"n", 5}}, tiny_output), r1::Error);
  r1::jinja::Limits fast;
  fast.max_seconds = 0.05;
  fast.max_steps = int64_t(1) << 60;
  const auto start = std::chrono::steady_clock::now();
  try {
    Template("{% for i in range(10000) %}{% for j in range(10000) %}{% endfor %}{% endfor %}").render(ordered_json::object(), fast);
    ADD_FAILURE() << "no time limit";
  } catch (const r1::Error& e) {
    EXPECT_NE(std::string(e.what()).find("took more than 0.05 s"), std::string::npos) << e.what();
  }
  EXPECT_LT(std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count(), 2.0);
  r1::jinja::Limits shallow;
  shallow.max_depth = 50;
  EXPECT_THROW(Template("{% macro f(n) %}{{ f(n) }}{% endmacro %}{{ f(0) }}").render(ordered_json::object(), shallow), r1::Error);
}

TEST(JinjaLimits, InvalidUtf8TemplateIsRefused) {
  expect_error("ok\n{{ 'a\xff' }}", {"line 2", "not valid UTF-8", "0xff"});
  expect_error("\xc3", {"not valid UTF-8"});
  EXPECT_EQ(render("{{ 'é' }}"), "é");
}

// The real DeepSeek-R1 template over a long conversation stays far inside the
// default budget.
TEST(JinjaLimits, RealTemplateOnALongConversation) {
  std::ifstream in(std::string(R1_SOURCE_DIR) + "/models/templates/deepseek-r1-distill.jinja");
  std::ostringstream ss;
  ss << in.rdbuf();
  ASSERT_FALSE(ss.str().empty());
  ordered_json messages = ordered_json::array();
  std::string expected = "<｜begin▁of▁sentence｜>";
  for (int i = 0; i < 1000; ++i) {
    messages.push_back({{"role", "user"}, {"content", "question " + std::to_string(i)}});
    messages.push_back({{"role", "assistant"}, {"content", "answer " + std::to_string(i)}});
    expected += "<｜User｜>question " + std::to_string(i) + "<｜Assistant｜>answer " + std::to_string(i) +
                "<｜end▁of▁sentence｜>";
  }
  const std::string out = r1::render_chat(ss.str(), messages, false, ordered_json{{"bos_token", "<｜begin▁of▁sentence｜>"}, {"eos_token", "<｜end▁of▁sentence｜>"}});
  EXPECT_EQ(out, expected);
}
