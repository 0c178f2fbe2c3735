// Chat templates: the real DeepSeek-R1-Distill template (models/templates) with
// hand-written expected prompts, variables, overloads and concurrent rendering.
#include <gtest/gtest.h>

#include <fstream>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include "base/error.hpp"
#include "tokenizer/chat_template.hpp"

using nlohmann::ordered_json;

namespace {

std::string r1_template() {
  std::ifstream in(std::string(R1_SOURCE_DIR) + "/models/templates/deepseek-r1-distill.jinja");
  std::ostringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

const char* kBos = "<｜begin▁of▁sentence｜>";

ordered_json msgs(const char* json) { return ordered_json::parse(json); }

}  // namespace

TEST(ChatTemplate, R1DistillBasics) {
  const std::string t = r1_template();
  ASSERT_FALSE(t.empty());
  ordered_json vars = {{"bos_token", kBos}};
  EXPECT_EQ(r1::render_chat(t, msgs(R"([{"role":"user","content":"What is 1+1?"}])"), true, vars),
            "<｜begin▁of▁sentence｜><｜User｜>What is 1+1?<｜Assistant｜><think>\n");
  EXPECT_EQ(r1::render_chat(t, msgs(R"([{"role":"user","content":"What is 1+1?"}])"), false, vars),
            "<｜begin▁of▁sentence｜><｜User｜>What is 1+1?");
  // System prompt first, reasoning of earlier turns dropped (text after </think> kept).
  EXPECT_EQ(r1::render_chat(t, msgs(R"([{"role":"system","content":"Be brief."},
      {"role":"user","content":"a"},{"role":"assistant","content":"<think>\nhmm\n</think>\n\nb"},
      {"role":"user","content":"c"}])"), true, vars),
            "<｜begin▁of▁sentence｜>Be brief.<｜User｜>a<｜Assistant｜>\n\nb<｜end▁of▁sentence｜>"
            "<｜User｜>c<｜Assistant｜><think>\n");
  // Tool call and tool output.
  EXPECT_EQ(r1::render_chat(t, msgs(R"([{"role":"user","content":"w?"},
      {"role":"assistant","content":null,"tool_calls":[{"type":"function","function":{"name":"get_weather","arguments":"{\"city\": \"Paris\"}"}}]},
      {"role":"tool","content":"21C"}])"), true, vars),
            "<｜begin▁of▁sentence｜><｜User｜>w?<｜Assistant｜><｜tool▁calls▁begin｜><｜tool▁call▁begin｜>function"
            "<｜tool▁sep｜>get_weather\n```json\n{\"city\": \"Paris\"}\n```<｜tool▁call▁end｜><｜tool▁calls▁end｜>"
            "<｜end▁of▁sentence｜><｜tool▁outputs▁begin｜><｜tool▁output▁begin｜>21C<｜tool▁output▁end｜>"
            "<｜tool▁outputs▁end｜>");
}

TEST(ChatTemplate, DefaultAndOverriddenVariables) {
  const std::string t = "{{ bos_token }}|{{ eos_token }}|{{ add_generation_prompt }}|{{ messages | length }}|{{ extra }}";
  EXPECT_EQ(r1::render_chat(t, ordered_json::array(), true), "||true|0|");
  ordered_json vars = {{"bos_token", "<s>"}, {"eos_token", "</s>"}, {"extra", 7}};
  EXPECT_EQ(r1::render_chat(t, msgs(R"([{"role":"user","content":"x"}])"), false, vars), "<s>|</s>|false|1|7");
  // nlohmann::json overload (keys sorted there, values the same).
  nlohmann::json m = nlohmann::json::parse(R"([{"role":"user","content":"x"}])");
  EXPECT_EQ(r1::render_chat(t, m, false, nlohmann::json{{"bos_token", "B"}}), "B||false|1|");
  EXPECT_THROW(r1::render_chat(t, ordered_json::object(), true), r1::Error);  // messages must be an array
}

TEST(ChatTemplate, KeyOrderIsKept) {
  const std::string t = "{{ messages[0] | tojson }}";
  EXPECT_EQ(r1::render_chat(t, msgs(R"([{"role":"user","content":"x","name":"n","a":1}])"), false),
            R"({"role": "user", "content": "x", "name": "n", "a": 1})");
}

TEST(ChatTemplate, ParseOnceRenderConcurrently) {
  const r1::ChatTemplate tmpl(r1_template());
  std::vector<std::thread> threads;
  std::vector<int> ok(8, 0);
  for (int i = 0; i < 8; ++i)
    threads.emplace_back([&, i] {
      for (int k = 0; k < 200; ++k) {
        ordered_json m = ordered_json::array({{{"role", "user"}, {"content", "q" + std::to_string(i * 1000 + k)}}});
        const std::string want = "<｜User｜>q" + std::to_string(i * 1000 + k) + "<｜Assistant｜><think>\n";
        ok[i] += tmpl.render(m, true) == want;
      }
    });
  for (auto& th : threads) th.join();
  for (int v : ok) EXPECT_EQ(v, 200);
}

TEST(ChatTemplate, SyntaxErrorAtConstruction) {
  EXPECT_THROW(r1::ChatTemplate("{% if %}"), r1::Error);
  EXPECT_THROW(r1::ChatTemplate("{% for x in y %}"), r1::Error);
}
