// Tool-call formats: reading calls out of answers, where a call block may start, and the
// grammar that forces a call. Call texts written by hand from each family's format.
#include <gtest/gtest.h>

#include <string>

#include "engine/tool_calls.hpp"
#include "grammar/gbnf.hpp"
#include "grammar/matcher.hpp"

namespace r1 {
namespace {

using ojson = nlohmann::ordered_json;

const std::string kR1Call =
    "<｜tool▁calls▁begin｜><｜tool▁call▁begin｜>function<｜tool▁sep｜>get_weather\n```json\n{\"city\": \"Paris\"}\n```"
    "<｜tool▁call▁end｜>\n<｜tool▁call▁begin｜>function<｜tool▁sep｜>get_time\n```json\n{}\n```<｜tool▁call▁end｜>"
    "<｜tool▁calls▁end｜>";
const std::string kV31Call =
    "<｜tool▁calls▁begin｜><｜tool▁call▁begin｜>get_weather<｜tool▁sep｜>{\"city\": \"Paris\"}<｜tool▁call▁end｜>"
    "<｜tool▁calls▁end｜>";
const std::string kQwenCall =
    "<tool_call>\n{\"name\": \"get_weather\", \"arguments\": {\"city\": \"Paris\"}}\n</tool_call>\n<tool_call>\n"
    "{\"name\": \"get_time\", \"arguments\": \"{}\"}\n</tool_call>";
const std::string kLlamaCall = "{\"name\": \"get_weather\", \"parameters\": {\"city\": \"Paris\"}}";

TEST(EngineToolCalls, ParsesEachFormat) {
  ParsedAnswer r1 = parse_tool_calls(ToolFormat::deepseek_r1, "Let me check.\n" + kR1Call);
  ASSERT_EQ(r1.calls.size(), 2u);
  EXPECT_EQ(r1.calls[0].name, "get_weather");
  EXPECT_EQ(r1.calls[0].arguments, R"({"city":"Paris"})");
  EXPECT_EQ(r1.calls[1].name, "get_time");
  EXPECT_EQ(r1.calls[1].arguments, "{}");
  EXPECT_EQ(r1.content, "Let me check.");
  ParsedAnswer v31 = parse_tool_calls(ToolFormat::deepseek_v31, kV31Call);
  ASSERT_EQ(v31.calls.size(), 1u);
  EXPECT_EQ(v31.calls[0].arguments, R"({"city":"Paris"})");
  EXPECT_EQ(v31.content, "");
  ParsedAnswer qwen = parse_tool_calls(ToolFormat::qwen, kQwenCall);
  ASSERT_EQ(qwen.calls.size(), 2u);
  EXPECT_EQ(qwen.calls[1].name, "get_time");
  EXPECT_EQ(qwen.calls[1].arguments, "{}");  // arguments given as a string holding an object
  ParsedAnswer llama = parse_tool_calls(ToolFormat::llama3, "<|python_tag|>" + kLlamaCall + "; " + kLlamaCall);
  ASSERT_EQ(llama.calls.size(), 2u);
  EXPECT_EQ(llama.calls[0].arguments, R"({"city":"Paris"})");
  // The end marker left out before the end of the answer is accepted (R1 models do this).
  const std::string no_end = kR1Call.substr(0, kR1Call.size() - std::string("<｜tool▁calls▁end｜>").size());
  EXPECT_EQ(parse_tool_calls(ToolFormat::deepseek_r1, no_end).calls.size(), 2u);
}

TEST(EngineToolCalls, MalformedOrTruncatedTextStaysContent) {
  for (const auto& [f, text] : std::vector<std::pair<ToolFormat, std::string>>{
           {ToolFormat::deepseek_r1, kR1Call}, {ToolFormat::deepseek_v31, kV31Call},
           {ToolFormat::qwen, kQwenCall}, {ToolFormat::llama3, kLlamaCall}}) {
    // Every truncation: no exception; either plain content (the whole text) or calls
    // that are complete ones of the original.
    for (size_t n = 0; n < text.size(); ++n) {
      const std::string cut = text.substr(0, n);
      ParsedAnswer p = parse_tool_calls(f, cut);
      if (p.calls.empty()) {
        EXPECT_EQ(p.content, cut) << tool_format_name(f) << " cut at " << n;
      } else {
        for (const ToolCall& c : p.calls) EXPECT_TRUE(c.name == "get_weather" || c.name == "get_time") << cut;
      }
    }
  }
  const char* broken[] = {
      "<｜tool▁calls▁begin｜><｜tool▁call▁begin｜>function<｜tool▁sep｜>f\n```json\n[1, 2]\n```<｜tool▁call▁end｜>",
      "<｜tool▁calls▁begin｜><｜tool▁call▁begin｜>function<｜tool▁sep｜>f\n{\"a\": 1}<｜tool▁call▁end｜>",
      "<｜tool▁calls▁begin｜><｜tool▁call▁begin｜>function<｜tool▁sep｜>\n```json\n{}\n```<｜tool▁call▁end｜>",
      "<｜tool▁calls▁begin｜>garbage<｜tool▁calls▁end｜>",
      "<｜tool▁calls▁begin｜><｜tool▁calls▁end｜>",
      "<｜tool▁call▁begin｜><｜tool▁call▁end｜>",
      "\xff\xfe<｜tool▁calls▁begin｜>\xc3",
  };
  for (const char* b : broken) {
    ParsedAnswer p = parse_tool_calls(ToolFormat::deepseek_r1, b);
    EXPECT_TRUE(p.calls.empty()) << b;
    EXPECT_EQ(p.content, b);
  }
  for (const char* b : {"<tool_call>{\"name\": 5}</tool_call>", "<tool_call>{\"arguments\": {}}</tool_call>",
                        "<tool_call>{\"name\": \"f\", \"arguments\": [1]}</tool_call>", "<tool_call>{\"name\": \"f\"",
                        "<tool_call>{\"name\": \"f\", \"arguments\": \"not json\"}</tool_call>",
                        "<tool_call>{\"name\": \"\", \"arguments\": {}}</tool_call>"})  // fuzz-found: empty name
    EXPECT_TRUE(parse_tool_calls(ToolFormat::qwen, b).calls.empty()) << b;
  EXPECT_TRUE(parse_tool_calls(ToolFormat::llama3, "The answer is {\"name\": \"f\"}").calls.empty());
}

TEST(EngineToolCalls, CallStartForStreaming) {
  EXPECT_EQ(tool_call_start(ToolFormat::deepseek_r1, "abc"), std::string::npos);
  EXPECT_EQ(tool_call_start(ToolFormat::deepseek_r1, "abc<｜tool▁calls▁begin｜>x"), 3u);
  EXPECT_EQ(tool_call_start(ToolFormat::deepseek_r1, "abc<｜tool"), 3u);   // could still become the marker
  EXPECT_EQ(tool_call_start(ToolFormat::qwen, "ok <tool_"), 3u);
  EXPECT_EQ(tool_call_start(ToolFormat::qwen, "ok <b>"), std::string::npos);
  EXPECT_EQ(tool_call_start(ToolFormat::llama3, "  {\"na"), 0u);
  EXPECT_EQ(tool_call_start(ToolFormat::llama3, "Hello {"), std::string::npos);
}

TEST(EngineToolCalls, DetectsTheFormatFromTheTemplate) {
  EXPECT_EQ(detect_tool_format(""), ToolFormat::deepseek_r1);
  EXPECT_EQ(detect_tool_format("{{'<｜tool▁call▁begin｜>' + tool['type'] + '<｜tool▁sep｜>' + name + '```json'}}"),
            ToolFormat::deepseek_r1);
  EXPECT_EQ(detect_tool_format("{{'<｜tool▁call▁begin｜>' + name + '<｜tool▁sep｜>' + args}}"), ToolFormat::deepseek_v31);
  EXPECT_EQ(detect_tool_format("{{- '<tool_call>\\n' }}"), ToolFormat::qwen);
  EXPECT_EQ(detect_tool_format("<|start_header_id|>assistant<|end_header_id|>"), ToolFormat::llama3);
  EXPECT_TRUE(template_renders_tools("{% if tools %}x{% endif %}"));
  EXPECT_FALSE(template_renders_tools("{{ message.tool_calls }} no_tools_here"));
}

TEST(EngineToolCalls, ForcedCallGrammarMatchesValidCallsOnly) {
  const ojson tools = ojson::parse(R"([
    {"type": "function", "function": {"name": "get_weather", "parameters": {"type": "object",
      "properties": {"city": {"type": "string"}, "unit": {"enum": ["c", "f"]}}, "required": ["city"]}}},
    {"type": "function", "function": {"name": "get_time"}}])");
  auto matches = [&](ToolFormat f, const std::string& only, bool parallel, const std::string& text) {
    grammar::Matcher m(std::make_shared<const grammar::Grammar>(
        grammar::parse_gbnf(forced_tool_call_gbnf(f, tools, only, parallel))));
    return m.accept(text) && m.can_end();
  };
  EXPECT_TRUE(matches(ToolFormat::deepseek_r1, "", false,
                      "<｜tool▁calls▁begin｜><｜tool▁call▁begin｜>function<｜tool▁sep｜>get_weather\n```json\n"
                      "{\"city\": \"Paris\", \"unit\": \"c\"}\n```<｜tool▁call▁end｜><｜tool▁calls▁end｜>"));
  EXPECT_TRUE(matches(ToolFormat::deepseek_r1, "", true, kR1Call));
  EXPECT_FALSE(matches(ToolFormat::deepseek_r1, "", false, kR1Call));            // two calls, not parallel
  EXPECT_FALSE(matches(ToolFormat::deepseek_r1, "get_time", true, kR1Call));     // get_weather not allowed
  EXPECT_FALSE(matches(ToolFormat::deepseek_r1, "", false,                        // unit must be c or f
                       "<｜tool▁calls▁begin｜><｜tool▁call▁begin｜>function<｜tool▁sep｜>get_weather\n```json\n"
                       "{\"city\": \"Paris\", \"unit\": \"k\"}\n```<｜tool▁call▁end｜><｜tool▁calls▁end｜>"));
  EXPECT_TRUE(matches(ToolFormat::deepseek_v31, "get_weather", false, kV31Call));
  EXPECT_TRUE(matches(ToolFormat::qwen, "", false,
                      "<tool_call>\n{\"name\": \"get_weather\", \"arguments\": {\"city\": \"Paris\"}}\n</tool_call>"));
  EXPECT_TRUE(matches(ToolFormat::llama3, "", false, kLlamaCall));
  EXPECT_FALSE(matches(ToolFormat::llama3, "", false, "{\"name\": \"get_weather\", \"parameters\": {}}"));  // city required
  // What the grammar generates parses back as the same call.
  ParsedAnswer back = parse_tool_calls(ToolFormat::llama3, kLlamaCall);
  ASSERT_EQ(back.calls.size(), 1u);
  EXPECT_EQ(back.calls[0].name, "get_weather");
}

}  // namespace
}  // namespace r1
