// Jinja subset: each construct rendered against a hand-written expected string
// (Jinja semantics as documented by Jinja / @huggingface/jinja; see jinja.hpp).
#include <gtest/gtest.h>

#include <string>

#include "base/error.hpp"
#include "tokenizer/jinja.hpp"

using nlohmann::ordered_json;
using r1::jinja::Template;

namespace {

std::string render(const std::string& src, const ordered_json& vars = ordered_json::object()) {
  return Template(src).render(vars);
}

struct Case {
  const char* src;
  const char* vars;  // JSON object
  const char* want;
};

void run_cases(const std::vector<Case>& cases) {
  for (const auto& c : cases) {
    std::string got;
    try {
      got = render(c.src, ordered_json::parse(c.vars));
    } catch (const r1::Error& e) {
      ADD_FAILURE() << "template: " << c.src << "\nthrew: " << e.what();
      continue;
    }
    EXPECT_EQ(got, c.want) << "template: " << c.src;
  }
}

}  // namespace

TEST(Jinja, TextAndOutput) {
  run_cases({
      {"plain text", "{}", "plain text"},
      {"a{{ x }}b", R"({"x": "X"})", "aXb"},
      {"{{ 1 }}|{{ 1.5 }}|{{ 2.0 }}|{{ -3 }}|{{ true }}|{{ none }}|{{ undefined_var }}", "{}", "1|1.5|2.0|-3|true||"},
      {"{{ [1, 'a', none] }}", "{}", R"([1, "a", null])"},
      {"{{ {'k': 'v', 'n': [1, 2]} }}", "{}", R"({"k": "v", "n": [1, 2]})"},
      {"{{ 'a' 'b' }}", "{}", "ab"},  // adjacent literals concatenate
      {"{{ \"q\\\"\\n\\t\\\\\" }}", "{}", "q\"\n\t\\"},
      {"{{ '\\u00e9\\x41' }}", "{}", "\xc3\xa9" "A"},
      {"x{# comment #}y", "{}", "xy"},
      {"trailing newline dropped\n", "{}", "trailing newline dropped"},
      {"two newlines\n\n", "{}", "two newlines\n"},
  });
}

TEST(Jinja, WhitespaceControl) {
  run_cases({
      {"a  {{- 'b' -}}  c", "{}", "abc"},
      {"a \n {%- if true -%} \n b \n {%- endif -%} \n c", "{}", "abc"},
      {"a {#- c -#} b", "{}", "ab"},
      // trim_blocks: newline after a block tag dropped; lstrip_blocks: indentation before it.
      {"{% if true %}\nyes\n{% endif %}\nend", "{}", "yes\nend"},
      {"  {% if true %}\n  x\n  {% endif %}\n", "{}", "  x\n"},
      {"{{ 'a' }}\nb", "{}", "a\nb"},  // expressions do not trim
      {"{% generation %}kept{% endgeneration %}", "{}", "kept"},
  });
}

TEST(Jinja, SetAndNamespace) {
  run_cases({
      {"{% set x = 3 %}{{ x }}", "{}", "3"},
      {"{% set a, b = [1, 2] %}{{ a }}{{ b }}", "{}", "12"},
      {"{% set a, b = 1, 2 %}{{ b }}{{ a }}", "{}", "21"},
      {"{% set ns = namespace(n=0, s='') %}{% for i in [1,2,3] %}{% set ns.n = ns.n + i %}{% endfor %}{{ ns.n }}", "{}", "6"},
      {"{% set n = 0 %}{% for i in [1,2] %}{% set n = n + i %}{% endfor %}{{ n }}", "{}", "0"},  // loop scope
      {"{% set x %}in {{ 'block' }}{% endset %}[{{ x }}]", "{}", "[in block]"},
      {"{% set ns = namespace({'a': 1}) %}{{ ns.a }}", "{}", "1"},
  });
}

TEST(Jinja, IfElifElse) {
  run_cases({
      {"{% if x == 1 %}one{% elif x == 2 %}two{% else %}other{% endif %}", R"({"x": 2})", "two"},
      {"{% if x == 1 %}one{% elif x == 2 %}two{% else %}other{% endif %}", R"({"x": 3})", "other"},
      {"{% if not x is defined %}undef{% endif %}", "{}", "undef"},
      {"{% if x %}t{% else %}f{% endif %}", R"({"x": []})", "f"},
      {"{% if x %}t{% else %}f{% endif %}", R"({"x": {}})", "f"},
      {"{% if x %}t{% else %}f{% endif %}", R"({"x": "0"})", "t"},
      {"{% if 0.0 or '' or none %}t{% else %}f{% endif %}", "{}", "f"},
  });
}

TEST(Jinja, ForLoops) {
  run_cases({
      {"{% for x in xs %}{{ loop.index }}{{ loop.index0 }}{{ x }}{% if not loop.last %},{% endif %}{% endfor %}",
       R"({"xs": ["a", "b", "c"]})", "10a,21b,32c"},
      {"{% for x in xs %}{{ loop.first }}/{{ loop.length }}/{{ loop.revindex }} {% endfor %}", R"({"xs": [5, 6]})",
       "true/2/2 false/2/1 "},
      {"{% for k in d %}{{ k }}={{ d[k] }};{% endfor %}", R"({"d": {"z": 1, "a": 2}})", "z=1;a=2;"},  // insertion order
      {"{% for k, v in d.items() %}{{ k }}{{ v }}{% endfor %}", R"({"d": {"x": 1, "y": 2}})", "x1y2"},
      {"{% for k, v in d | items %}{{ k }}{{ v }}{% endfor %}", R"({"d": {"x": 1}})", "x1"},
      {"{% for x in [] %}body{% else %}empty{% endfor %}", "{}", "empty"},
      {"{% for x in [1,2,3,4] if x is even %}{{ x }}{% endfor %}", "{}", "24"},
      {"{% for x in [1,2,3,4] %}{% if x == 3 %}{% break %}{% endif %}{{ x }}{% endfor %}", "{}", "12"},
      {"{% for x in [1,2,3] %}{% if x == 2 %}{% continue %}{% endif %}{{ x }}{% endfor %}", "{}", "13"},
      {"{% for x in [1,2] %}{% for y in ['a', 'b'] %}{{ loop.index }}{% endfor %}{{ loop.index }}{% endfor %}", "{}",
       "121122"},
      {"{% for a, b in [[1, 2], [3, 4]] %}{{ a + b }} {% endfor %}", "{}", "3 7 "},
      {"{% for m in messages[::-1] %}{{ m }}{% endfor %}", R"({"messages": [1, 2, 3]})", "321"},
      {"{% for i in range(3) %}{{ i }}{% endfor %}{% for i in range(1, 7, 2) %}{{ i }}{% endfor %}", "{}", "012135"},
  });
}

TEST(Jinja, OperatorsAndPrecedence) {
  run_cases({
      {"{{ 1 + 2 * 3 }}|{{ (1 + 2) * 3 }}|{{ 7 // 2 }}|{{ 7 % 3 }}|{{ 7 / 2 }}|{{ 2 ** 3 }}|{{ 4 / 2 }}", "{}",
       "7|9|3|1|3.5|8|2.0"},
      {"{{ -7 // 2 }}|{{ 1.5 + 1 }}|{{ 2 - 5 }}|{{ -x }}", R"({"x": 4})", "-4|2.5|-3|-4"},
      {"{{ 'a' ~ 1 ~ 2.5 }}|{{ 'a' + 'b' }}|{{ 'n' + 1 }}", "{}", "a12.5|ab|n1"},
      {"{{ [1] + [2, 3] }}", "{}", "[1, 2, 3]"},
      {"{{ 1 < 2 }}{{ 2 <= 1 }}{{ 'a' == 'a' }}{{ 'a' != 'b' }}{{ 1 == 1.0 }}{{ n == none }}", R"({"n": null})",
       "truefalsetruetruetruetrue"},
      {"{{ 'ell' in 'hello' }}{{ 'z' not in 'hello' }}{{ 2 in [1, 2] }}{{ 'k' in {'k': 1} }}{{ 1 in undefined_var }}",
       "{}", "truetruetruetruefalse"},
      {"{{ not true or true }}|{{ not (true or true) }}|{{ true and none }}|{{ 0 or 'x' }}", "{}", "true|false||x"},
      {"{{ 'y' if c else 'n' }}{{ 'y' if not c else 'n' }}{{ 'only' if c }}", R"({"c": false})", "ny"},
      {"{{ 'a' if x else 'b' if y else 'c' }}", R"({"x": false, "y": true})", "b"},
      {"{{ 'abc' < 'abd' }}", "{}", "true"},  // r1 allows string comparison (Python does)
  });
}

TEST(Jinja, MembersIndexingSlicing) {
  run_cases({
      {"{{ m.role }}|{{ m['content'] }}|{{ m.missing }}|{{ xs[0] }}{{ xs[-1] }}{{ xs.1 }}", R"({"m": {"role": "user", "content": "c"}, "xs": [1, 2, 3]})",
       "user|c||132"},
      {"{{ xs[1:] }}|{{ xs[:2] }}|{{ xs[::-1] }}|{{ xs[::2] }}|{{ xs[-2:] }}|{{ xs[5:] }}", R"({"xs": [1, 2, 3]})",
       "[2, 3]|[1, 2]|[3, 2, 1]|[1, 3]|[2, 3]|[]"},
      {"{{ s[0] }}{{ s[-1] }}{{ s[1:3] }}{{ s[::-1] }}", R"({"s": "héllo"})", "hoélolléh"},
      {"{{ s[10] }}|{{ xs[10] }}", R"({"s": "a", "xs": []})", "|"},
      {"{{ m.get('a') }}|{{ m.get('b', 'dflt') }}|{{ m.get('n', 'd') }}", R"({"m": {"a": 1, "n": null}})", "1|dflt|"},
      {"{{ m.keys() }}{{ m.values() }}{{ m.items() }}", R"({"m": {"a": 1}})", R"(["a"][1][["a", 1]])"},
  });
}

TEST(Jinja, StringMethods) {
  run_cases({
      {"{{ s.split('</think>')[-1] }}", R"({"s": "a</think>b</think>c"})", "c"},
      {"{{ s.split() }}|{{ s.split(None, 1) }}", R"({"s": "  a  b c "})", R"(["a", "b", "c"]|["a", "b c "])"},
      {"{{ s.split(',', 1) }}|{{ s.rsplit(',', 1) }}|{{ s.rsplit(',') }}", R"({"s": "a,b,c"})",
       R"(["a", "b,c"]|["a,b", "c"]|["a", "b", "c"])"},
      {"[{{ s.strip() }}][{{ s.lstrip() }}][{{ s.rstrip() }}]", R"({"s": " \n x \t"})", "[x][x \t][ \n x]"},
      {"[{{ s.strip('\\n') }}][{{ s.lstrip('\\n') }}][{{ s.rstrip('\\n') }}]", R"({"s": "\n\n x \n"})",
       "[ x ][ x \n][\n\n x ]"},  // Python semantics: only the given characters
      {"{{ s.startswith('<t') }}{{ s.endswith('>') }}{{ s.startswith(('x', '<')) }}", R"({"s": "<tool>"})",
       "truetruetrue"},
      {"{{ s.upper() }}{{ s.lower() }}{{ s.title() }}{{ s.capitalize() }}", R"({"s": "hello World"})",
       "HELLO WORLDhello worldHello WorldHello World"},
      {"{{ s.replace('a', 'o') }}|{{ s.replace('a', 'o', 1) }}", R"({"s": "banana"})", "bonono|bonana"},
      {"{{ s.length }}", R"({"s": "日本"})", "2"},
  });
}

TEST(Jinja, Filters) {
  run_cases({
      {"{{ xs | length }}{{ s | length }}{{ d | length }}", R"({"xs": [1, 2], "s": "abc", "d": {"a": 1}})", "231"},
      {"[{{ s | trim }}]{{ s | upper }}{{ 'ABC' | lower }}", R"({"s": "  ab  "})", "[ab]  AB  abc"},
      {"{{ x | default('d') }}|{{ '' | default('d') }}|{{ '' | default('d', true) }}|{{ x | default }}", "{}", "d||d|"},
      {"{{ xs | join(', ') }}|{{ xs | join }}|{{ xs | first }}|{{ xs | last }}", R"({"xs": ["a", "b", "c"]})",
       "a, b, c|abc|a|c"},
      {"{{ 1 | string }}{{ 1.0 | string }}{{ true | string }}{{ [1] | string }}", "{}", "11.0true[1]"},
      {"{{ s | replace('-', '+') }}", R"({"s": "a-b-c"})", "a+b+c"},
      {"{{ xs | reverse | list }}{{ xs | sort }}{{ [3, 1, 2] | sort(reverse=true) }}", R"({"xs": [2, 1]})",
       "[1, 2][1, 2][3, 2, 1]"},
      {"{{ ['b', 'A', 'a'] | sort }}|{{ ['a', 'b', 'a'] | unique }}", "{}", R"(["A", "a", "b"]|["a", "b"])"},
      {"{{ xs | map(attribute='n', default=0) | list }}|{{ xs | selectattr('n', 'equalto', 2) | list }}|{{ xs | rejectattr('n') | length }}",
       R"({"xs": [{"n": 1}, {"n": 2}, {"m": 3}]})", R"([1, 2, 0]|[{"n": 2}]|1)"},
      {"{{ 'line1\nline2\n\nline4' | indent(2) }}", "{}", "line1\n  line2\n\n  line4"},
      {"{{ '42' | int + 1 }}{{ '2.5' | float }}{{ 'x' | int }}{{ -3 | abs }}{{ 2.7 | int }}", "{}", "432.5032"},
      {"{{ d | dictsort }}", R"({"d": {"b": 1, "a": 2}})", R"([["a", 2], ["b", 1]])"},
  });
}

TEST(Jinja, ToJson) {
  run_cases({
      {"{{ x | tojson }}", R"({"x": {"name": "f", "args": {"a": [1, 2.5, true, null]}, "s": "q\"\\\n\u00e9"}})",
       "{\"name\": \"f\", \"args\": {\"a\": [1, 2.5, true, null]}, \"s\": \"q\\\"\\\\\\n\xc3\xa9\"}"},
      {"{{ x | tojson(indent=2) }}", R"({"x": {"a": [1, {}], "b": []}})",
       "{\n  \"a\": [\n    1,\n    {}\n  ],\n  \"b\": []\n}"},
      {"{{ x | tojson(ensure_ascii=true) }}", R"({"x": "é😀"})", "\"\\u00e9\\ud83d\\ude00\""},
      {"{{ x | tojson(sort_keys=true, separators=(',', ':')) }}", R"({"x": {"b": 1, "a": [1, 2]}})",
       "{\"a\":[1,2],\"b\":1}"},
      {"{{ a | tojson }} {{ b | tojson }} {{ c | tojson }} {{ d | tojson }} {{ e | tojson }} {{ f }}",
       R"({"a": 1e21, "b": 0.1, "c": 1.5e-7, "d": 123456.789, "e": 3.0, "f": 1e300})",
       "1e+21 0.1 1.5e-7 123456.789 3 1e+300"},
      {"{{ '\\x01' | tojson }}", "{}", "\"\\u0001\""},
  });
}

TEST(Jinja, Tests) {
  run_cases({
      {"{{ x is defined }}{{ y is defined }}{{ y is undefined }}{{ n is none }}{{ x is not none }}", R"({"x": 1, "n": null})",
       "truefalsetruetruetrue"},
      {"{{ s is string }}{{ 1 is string }}{{ 1 is number }}{{ 1.5 is integer }}{{ true is boolean }}", R"({"s": "a"})",
       "truefalsetruefalsetrue"},
      {"{{ d is mapping }}{{ xs is mapping }}{{ xs is iterable }}{{ s is iterable }}{{ d is sequence }}",
       R"({"d": {}, "xs": [], "s": ""})", "truefalsetruetruetrue"},
      {"{{ 3 is odd }}{{ 3 is even }}{{ raise_exception is callable }}{{ true is true }}{{ 0 is false }}", "{}",
       "truefalsetruetruefalse"},
      {"{{ ns is mapping }}", "{}", "false"},
  });
  EXPECT_EQ(render("{% set ns = namespace() %}{{ ns is mapping }}"), "false");
}

TEST(Jinja, Macros) {
  run_cases({
      {"{% macro greet(name, punct='!') %}Hi {{ name }}{{ punct }}{% endmacro %}{{ greet('A') }} {{ greet('B', '?') }} "
       "{{ greet(punct='.', name='C') }}",
       "{}", "Hi A! Hi B? Hi C."},
      {"{% macro f(x) %}[{{ x }}]{% endmacro %}{% for i in [1, 2] %}{{ f(i) }}{% endfor %}", "{}", "[1][2]"},
      {"{% macro outer() %}{{ inner() }}{% endmacro %}{% macro inner() %}in{% endmacro %}{{ outer() }}", "{}", "in"},
  });
}

TEST(Jinja, RealisticMessagesLoop) {
  const char* src =
      "{%- for m in messages -%}\n"
      "  {%- if m['role'] == 'user' -%}\n"
      "    {{- '<U>' + m['content'] -}}\n"
      "  {%- elif m['role'] == 'assistant' -%}\n"
      "    {%- set c = m['content'] -%}\n"
      "    {%- if '</think>' in c -%}{%- set c = c.split('</think>')[-1].lstrip('\\n') -%}{%- endif -%}\n"
      "    {{- '<A>' + c + '<E>' -}}\n"
      "  {%- endif -%}\n"
      "{%- endfor -%}\n"
      "{%- if add_generation_prompt %}<A>{% endif %}\n";
  ordered_json vars = {{"messages", ordered_json::parse(R"([{"role":"user","content":"q"},
      {"role":"assistant","content":"<think>\nr\n</think>\n\nans"},{"role":"user","content":"q2"}])")},
                       {"add_generation_prompt", true}};
  EXPECT_EQ(render(src, vars), "<U>q<A>ans<E><U>q2<A>");
}
