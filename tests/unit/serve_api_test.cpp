// Request validation and response building, with expectations written by hand
// from the OpenAI/DeepSeek wire format.
#include <gtest/gtest.h>

#include "grammar/matcher.hpp"
#include "serve/api_request.hpp"
#include "serve/api_response.hpp"
#include "serve/metrics.hpp"
#include "tokenizer/tokenizer.hpp"

namespace r1::serve {
namespace {

using nlohmann::json;

json user(const std::string& text) { return json::array({{{"role", "user"}, {"content", text}}}); }

// The ApiError a parse throws (fails the test when it does not throw).
ApiError chat_error(const json& body, const RequestLimits& lim = {}) {
  try {
    parse_chat_request(body, lim);
  } catch (const ApiError& e) {
    return e;
  }
  ADD_FAILURE() << "no error for " << body.dump();
  return ApiError(0, "");
}

TEST(ServeApiRequest, ChatDefaultsAndSampling) {
  ApiRequest r = parse_chat_request({{"model", "m"}, {"messages", user("hi")}}, {});
  ASSERT_EQ(r.choices.size(), 1u);
  const GenerateRequest& g = r.choices[0];
  EXPECT_EQ(r.model, "m");
  EXPECT_FLOAT_EQ(g.sampling.temperature, 0.6f);  // R1's recommended defaults
  EXPECT_FLOAT_EQ(g.sampling.top_p, 0.95f);
  EXPECT_EQ(g.max_tokens, RequestLimits{}.max_tokens);
  EXPECT_EQ(g.think_budget, -1);
  EXPECT_FALSE(g.keep_tags);
  EXPECT_EQ(g.top_logprobs, -1);
  EXPECT_FALSE(r.stream);

  r = parse_chat_request({{"messages", user("hi")},
                          {"temperature", 0},
                          {"top_k", 5},
                          {"min_p", 0.1},
                          {"presence_penalty", 1.5},
                          {"frequency_penalty", -0.5},
                          {"max_completion_tokens", 33},
                          {"max_tokens", 99},
                          {"stop", "END"},
                          {"stream", true},
                          {"stream_options", {{"include_usage", true}}},
                          {"logprobs", true},
                          {"top_logprobs", 3},
                          {"unknown_field", {{"ignored", true}}}},
                         {});
  const GenerateRequest& h = r.choices[0];
  EXPECT_FLOAT_EQ(h.sampling.temperature, 0.0f);
  EXPECT_EQ(h.sampling.top_k, 5);
  EXPECT_FLOAT_EQ(h.sampling.min_p, 0.1f);
  EXPECT_FLOAT_EQ(h.sampling.presence_penalty, 1.5f);
  EXPECT_FLOAT_EQ(h.sampling.frequency_penalty, -0.5f);
  EXPECT_EQ(h.max_tokens, 33);  // max_completion_tokens wins
  EXPECT_EQ(h.stop, std::vector<std::string>{"END"});
  EXPECT_TRUE(r.stream);
  EXPECT_TRUE(r.include_usage);
  EXPECT_EQ(h.top_logprobs, 3);
}

TEST(ServeApiRequest, NChoicesGetConsecutiveSeeds) {
  ApiRequest r = parse_chat_request({{"messages", user("x")}, {"n", 3}, {"seed", 40}}, {});
  ASSERT_EQ(r.choices.size(), 3u);
  EXPECT_EQ(r.choices[0].sampling.seed, 40u);
  EXPECT_EQ(r.choices[1].sampling.seed, 41u);
  EXPECT_EQ(r.choices[2].sampling.seed, 42u);
  r = parse_chat_request({{"messages", user("x")}, {"n", 2}}, {});
  EXPECT_EQ(r.choices[1].sampling.seed, 0xFFFFFFFFu);  // no seed: random, each choice on its own
}

TEST(ServeApiRequest, ReasoningBudgetsAndFormats) {
  auto budget = [](json extra) {
    json body = {{"messages", user("x")}};
    body.update(extra);
    return parse_chat_request(body, {}).choices[0];
  };
  EXPECT_EQ(budget({{"reasoning_effort", "low"}}).think_budget, 1024);
  EXPECT_EQ(budget({{"reasoning_effort", "medium"}}).think_budget, 4096);
  EXPECT_EQ(budget({{"reasoning_effort", "high"}}).think_budget, -1);
  EXPECT_EQ(budget({{"reasoning_effort", "low"}, {"thinking_budget", 7}}).think_budget, 7);
  EXPECT_EQ(budget({{"thinking", {{"type", "enabled"}, {"budget_tokens", 9}}}}).think_budget, 9);
  GenerateRequest off = budget({{"thinking", {{"type", "disabled"}}}});
  EXPECT_TRUE(off.no_think);
  EXPECT_EQ(off.think_budget, -1);
  EXPECT_EQ(chat_error({{"messages", user("x")}, {"reasoning_effort", "max"}}).param, "reasoning_effort");

  ApiRequest none = parse_chat_request({{"messages", user("x")}, {"reasoning_format", "none"}}, {});
  EXPECT_EQ(none.reasoning_format, ReasoningFormat::none);
  EXPECT_TRUE(none.choices[0].keep_tags);
  EXPECT_EQ(parse_chat_request({{"messages", user("x")}, {"reasoning_format", "raw"}}, {}).reasoning_format,
            ReasoningFormat::raw);
  EXPECT_EQ(chat_error({{"messages", user("x")}, {"reasoning_format", "xml"}}).param, "reasoning_format");
}

TEST(ServeApiRequest, BadValuesNameTheirField) {
  const json m = user("x");
  EXPECT_EQ(chat_error({{"messages", m}, {"temperature", "hot"}}).param, "temperature");
  EXPECT_EQ(chat_error({{"messages", m}, {"temperature", 2.5}}).param, "temperature");
  EXPECT_EQ(chat_error({{"messages", m}, {"top_p", -0.1}}).param, "top_p");
  EXPECT_EQ(chat_error({{"messages", m}, {"max_tokens", 0}}).param, "max_tokens");
  EXPECT_EQ(chat_error({{"messages", m}, {"max_tokens", 1e12}}).param, "max_tokens");
  EXPECT_EQ(chat_error({{"messages", m}, {"max_tokens", 2.5}}).param, "max_tokens");
  EXPECT_EQ(chat_error({{"messages", m}, {"n", 9}}).param, "n");  // default limit 8
  EXPECT_EQ(chat_error({{"messages", m}, {"stop", 5}}).param, "stop");
  EXPECT_EQ(chat_error({{"messages", m}, {"stop", json::array({"a", 1})}}).param, "stop");
  EXPECT_EQ(chat_error({{"messages", m}, {"top_logprobs", 2}}).param, "top_logprobs");  // needs logprobs
  EXPECT_EQ(chat_error({{"messages", m}, {"logprobs", true}, {"top_logprobs", 21}}).param, "top_logprobs");
  EXPECT_EQ(chat_error({{"messages", m}, {"stream", "yes"}}).param, "stream");
  EXPECT_EQ(chat_error({{"messages", m}, {"response_format", {{"type", "xml"}}}}).param, "response_format.type");
  EXPECT_EQ(chat_error({{"messages", m}, {"response_format", {{"type", "json_schema"}}}}).param,
            "response_format.json_schema");
  EXPECT_EQ(chat_error({{"messages", m},
                        {"response_format", {{"type", "json_schema"},
                                             {"json_schema", {{"name", "x"}, {"schema", {{"type", "string"}, {"pattern", "a+"}}}}}}}})
                .param,
            "response_format.json_schema.schema");
  EXPECT_EQ(chat_error({{"messages", m}, {"grammar", "root ::= missing"}}).param, "grammar");
  EXPECT_EQ(chat_error({{"messages", m}, {"grammar", "root ::= \"a\" | root \"b\""}}).param, "grammar");  // left-recursive
  EXPECT_EQ(chat_error({{"messages", m}, {"json_schema", {{"type", "integer"}, {"minimum", 3}}}}).param, "json_schema");
  EXPECT_EQ(chat_error({{"messages", m}, {"grammar", "root ::= \"a\""}, {"response_format", {{"type", "json_object"}}}}).param,
            "response_format");
  EXPECT_EQ(chat_error({{"model", 3}, {"messages", m}}).param, "model");
  EXPECT_EQ(chat_error({{"max_tokens", 3}}).param, "messages");
  EXPECT_EQ(chat_error(json::array()).status, 400);
  EXPECT_EQ(chat_error({{"messages", json::array()}}).param, "messages");
  EXPECT_EQ(chat_error({{"messages", json::array({{{"role", "wizard"}, {"content", "x"}}})}}).param, "messages[0].role");
  EXPECT_EQ(chat_error({{"messages", json::array({{{"role", "user"}}})}}).param, "messages[0].content");
  EXPECT_EQ(chat_error({{"messages", json::array({{{"role", "user"}, {"content", 5}}})}}).param, "messages[0].content");
}

TEST(ServeApiRequest, ResponseFormatsBecomeAGrammar) {
  const json m = user("x");
  EXPECT_EQ(parse_chat_request({{"messages", m}}, {}).choices[0].grammar, nullptr);
  EXPECT_EQ(parse_chat_request({{"messages", m}, {"response_format", {{"type", "text"}}}}, {}).choices[0].grammar, nullptr);
  EXPECT_NE(parse_chat_request({{"messages", m}, {"response_format", {{"type", "json_object"}}}}, {}).choices[0].grammar,
            nullptr);
  const std::string raw =
      R"({"messages": [{"role": "user", "content": "x"}], "n": 2, "response_format": {"type": "json_schema",)"
      R"( "json_schema": {"name": "t", "strict": true, "schema": {"type": "object", "properties": {"z": {"type": "integer"},)"
      R"( "a": {"type": "string"}}, "required": ["z", "a"]}}}})";
  ApiRequest r = parse_chat_request(json::parse(raw), {}, raw);
  ASSERT_EQ(r.choices.size(), 2u);
  ASSERT_NE(r.choices[0].grammar, nullptr);
  // The raw body's key order is kept: "z" comes before "a".
  grammar::Matcher ordered(r.choices[1].grammar);
  EXPECT_TRUE(ordered.accept(R"({"z": 1, "a": "b"})"));
  EXPECT_TRUE(ordered.can_end());
  grammar::Matcher swapped(r.choices[1].grammar);
  EXPECT_FALSE(swapped.accept(R"({"a": "b", "z": 1})"));
  EXPECT_NE(parse_chat_request({{"messages", m}, {"grammar", "root ::= [a-z]+"}}, {}).choices[0].grammar, nullptr);
  EXPECT_NE(parse_completion_request({{"prompt", "p"}, {"json_schema", {{"type", "integer"}}}}, {}).choices[0].grammar,
            nullptr);
}

TEST(ServeApiRequest, MessagesAreNormalizedForTheTemplate) {
  const json in = json::array({
      {{"role", "developer"}, {"content", "be brief"}},
      {{"role", "user"}, {"content", json::array({{{"type", "text"}, {"text", "a"}}, {{"type", "text"}, {"text", "b"}}})}},
      {{"role", "assistant"}, {"content", "ok"}, {"reasoning_content", "dropped"}, {"name", "x"}},
      {{"role", "assistant"},
       {"content", nullptr},
       {"tool_calls", json::array({{{"id", "c1"}, {"type", "function"},
                                    {"function", {{"name", "f"}, {"arguments", {{"a", 1}}}}}}})}},
      {{"role", "tool"}, {"content", "42"}, {"tool_call_id", "c1"}},
  });
  const json want = json::array({
      {{"role", "system"}, {"content", "be brief"}},
      {{"role", "user"}, {"content", "a\nb"}},
      {{"role", "assistant"}, {"content", "ok"}},
      {{"role", "assistant"},
       {"content", nullptr},
       {"tool_calls", json::array({{{"type", "function"}, {"function", {{"name", "f"}, {"arguments", "{\"a\":1}"}}}}})}},
      {{"role", "tool"}, {"content", "42"}},
  });
  EXPECT_EQ(normalize_messages(in), want);
  EXPECT_THROW(normalize_messages(json::array({{{"role", "user"},
                                                {"content", json::array({{{"type", "image_url"}}})}}})),
               ApiError);
}

TEST(ServeApiRequest, CompletionPrompts) {
  ApiRequest r = parse_completion_request({{"prompt", "Once"}}, {});
  ASSERT_EQ(r.choices.size(), 1u);
  EXPECT_EQ(r.choices[0].prompt_text, "Once");
  EXPECT_EQ(r.choices[0].max_tokens, 16);  // OpenAI's legacy default
  EXPECT_TRUE(r.choices[0].keep_tags);
  r = parse_completion_request({{"prompt", json::array({"a", "b"})}, {"n", 2}, {"seed", 5}, {"logprobs", 2}}, {});
  ASSERT_EQ(r.choices.size(), 4u);  // prompt-major
  EXPECT_EQ(r.choices[1].prompt_text, "a");
  EXPECT_EQ(r.choices[2].prompt_text, "b");
  EXPECT_EQ(r.choices[2].sampling.seed, 5u);
  EXPECT_EQ(r.choices[3].sampling.seed, 6u);
  EXPECT_EQ(r.choices[0].top_logprobs, 2);
  r = parse_completion_request({{"prompt", json::array({1, 2, 3})}}, {});
  EXPECT_EQ(r.choices[0].prompt_tokens, (std::vector<int32_t>{1, 2, 3}));
  r = parse_completion_request({{"prompt", json::array({json::array({4}), json::array({5, 6})})}}, {});
  ASSERT_EQ(r.choices.size(), 2u);
  EXPECT_EQ(r.choices[1].prompt_tokens, (std::vector<int32_t>{5, 6}));
  EXPECT_THROW(parse_completion_request({{"prompt", ""}}, {}), ApiError);
  EXPECT_THROW(parse_completion_request({{"prompt", json::array({-1})}}, {}), ApiError);
  EXPECT_THROW(parse_completion_request({{"prompt", "x"}, {"echo", true}}, {}), ApiError);
  EXPECT_THROW(parse_completion_request({{"prompt", "x"}, {"logprobs", 6}}, {}), ApiError);
  EXPECT_THROW(parse_completion_request({{"max_tokens", 3}}, {}), ApiError);
}

TEST(ServeApiRequest, NestingDepthIsCountedOutsideStrings) {
  EXPECT_EQ(json_nesting_depth("{}"), 1);
  EXPECT_EQ(json_nesting_depth(R"({"a":[[1],{"b":[]}]})"), 4);  // { [ { [
  EXPECT_EQ(json_nesting_depth(R"({"a":"[[[[\"[["})"), 1);
  EXPECT_EQ(json_nesting_depth(std::string(1000, '[')), 1000);
}

TEST(ServeApiError, OpenAiShape) {
  ApiError e(429, "busy", "rate_limit_error", "", "rate_limit_exceeded");
  EXPECT_EQ(e.to_json(), json::parse(R"({"error":{"message":"busy","type":"rate_limit_error","param":null,
                                                  "code":"rate_limit_exceeded"}})"));
}

class ServeResponse : public ::testing::Test {
 protected:
  ServeResponse()
      : tok_(Tokenizer::from_vocab(builtin_byte_vocab())),
        ctx_{.chat = true, .id = std::string("chatcmpl-1"), .created = 0, .model = std::string("m"),
             .fingerprint = std::string("fp"), .field = ReasoningField::reasoning_content,
             .format = ReasoningFormat::deepseek, .n = 1, .tok = tok_.get()} {}
  static GenerateEvent token(int32_t id, std::string reasoning, std::string content) {
    GenerateEvent ev;
    ev.token = id;
    ev.reasoning = std::move(reasoning);
    ev.content = std::move(content);
    return ev;
  }
  std::unique_ptr<Tokenizer> tok_;
  ResponseContext ctx_;
};

TEST_F(ServeResponse, DeepseekFormatSplitsAndContentIsNeverNull) {
  ChoiceOutput c;
  apply_event(ctx_, c, token('a', "ab", ""), true, "", false);
  c.summary.finish = FinishReason::length;  // max_tokens ended inside the reasoning
  c.summary.prompt_tokens = 5;
  c.summary.generated_tokens = 1;
  c.summary.reasoning_tokens = 1;
  json r = chat_response(ctx_, {c}, false);
  const json& msg = r["choices"][0]["message"];
  EXPECT_EQ(msg["reasoning_content"], "ab");
  EXPECT_EQ(msg["content"], "");  // a string, not null
  EXPECT_FALSE(msg.contains("reasoning"));
  EXPECT_EQ(r["choices"][0]["finish_reason"], "length");
  EXPECT_EQ(r["usage"], json::parse(R"({"prompt_tokens":5,"completion_tokens":1,"total_tokens":6,
      "prompt_tokens_details":{"cached_tokens":0},"completion_tokens_details":{"reasoning_tokens":1}})"));

  ctx_.field = ReasoningField::both;
  json both = chat_response(ctx_, {c}, false);
  EXPECT_EQ(both["choices"][0]["message"]["reasoning"], "ab");
  EXPECT_EQ(both["choices"][0]["message"]["reasoning_content"], "ab");
}

TEST_F(ServeResponse, NoneAndRawKeepEverythingInContent) {
  ctx_.format = ReasoningFormat::raw;
  ChoiceOutput c;
  EventDelta d1 = apply_event(ctx_, c, token('x', "think", ""), true, "<think>\n", false);
  EventDelta d2 = apply_event(ctx_, c, token('y', "</think>", "\n\nanswer"), false, "<think>\n", false);
  EXPECT_EQ(d1.content, "<think>\nthink");
  EXPECT_EQ(d2.content, "</think>\n\nanswer");
  EXPECT_EQ(c.content, "<think>\nthink</think>\n\nanswer");
  EXPECT_EQ(c.reasoning, "");
  EXPECT_FALSE(chat_response(ctx_, {c}, false)["choices"][0]["message"].contains("reasoning_content"));

  ctx_.format = ReasoningFormat::none;
  ChoiceOutput n;
  apply_event(ctx_, n, token('x', "think", ""), true, "<think>\n", false);
  EXPECT_EQ(n.content, "think");
}

TEST_F(ServeResponse, LogprobsGoToThePartTheTokenIsIn) {
  GenerateEvent ev = token('h', "h", "");
  ev.logprob = -0.5f;
  ev.top_logprobs = {{'h', -0.5f}, {'i', -1.5f}};
  ChoiceOutput c;
  EventDelta d = apply_event(ctx_, c, ev, true, "", true);
  ASSERT_EQ(c.lp_reasoning.size(), 1u);
  EXPECT_TRUE(c.lp_content.empty());
  EXPECT_EQ(c.lp_reasoning[0], json::parse(R"({"token":"h","logprob":-0.5,"bytes":[104],"top_logprobs":[
      {"token":"h","logprob":-0.5,"bytes":[104]},{"token":"i","logprob":-1.5,"bytes":[105]}]})"));
  EXPECT_EQ(d.logprobs["reasoning_content"].size(), 1u);
  GenerateEvent held = token(0xE4, "", "");  // first byte of a CJK character: text held back
  apply_event(ctx_, c, held, false, "", true);
  ASSERT_EQ(c.lp_content.size(), 1u);
  EXPECT_EQ(c.lp_content[0]["token"], "\xEF\xBF\xBD");  // U+FFFD for the lone byte
  EXPECT_EQ(c.lp_content[0]["bytes"], json::array({0xE4}));
}

TEST_F(ServeResponse, CompletionLogprobsUseTheLegacyShape) {
  ctx_.chat = false;
  ctx_.format = ReasoningFormat::none;
  GenerateEvent a = token('a', "", "a");
  a.logprob = -1;
  a.top_logprobs = {{'a', -1}};
  GenerateEvent b = token('b', "", "b");
  b.logprob = -2;
  ChoiceOutput c;
  apply_event(ctx_, c, a, false, "", true);
  apply_event(ctx_, c, b, false, "", true);
  EXPECT_EQ(c.lp_legacy, json::parse(R"({"tokens":["a","b"],"token_logprobs":[-1.0,-2.0],
      "top_logprobs":[{"a":-1.0},{}],"text_offset":[0,1]})"));
  EXPECT_EQ(completion_response(ctx_, {c}, true)["choices"][0]["text"], "ab");
}

TEST(ServeMetrics, PrometheusTextWithCumulativeBuckets) {
  Metrics m;
  m.request_done("/v1/chat/completions", 200);
  m.request_done("/v1/chat/completions", 200);
  m.request_done("/health", 503);
  m.rejected("queue_full");
  m.time_to_first_token(0.003);  // bucket le=0.005
  m.time_to_first_token(0.2);    // bucket le=0.25
  m.time_to_first_token(100);    // +Inf only
  m.generation_done(10, 4, 3, 2, 0.5, 1.0, true);
  const std::string t = m.render({.queued = 2, .busy = 1, .slots = 4});
  for (const char* line : {
           "r1_requests_total{endpoint=\"/v1/chat/completions\",code=\"200\"} 2\n",
           "r1_requests_total{endpoint=\"/health\",code=\"503\"} 1\n",
           "r1_requests_rejected_total{reason=\"queue_full\"} 1\n",
           "r1_requests_rejected_total{reason=\"shutting_down\"} 0\n",
           "r1_time_to_first_token_seconds_bucket{le=\"0.005\"} 1\n",
           "r1_time_to_first_token_seconds_bucket{le=\"0.1\"} 1\n",
           "r1_time_to_first_token_seconds_bucket{le=\"0.25\"} 2\n",
           "r1_time_to_first_token_seconds_bucket{le=\"60\"} 2\n",
           "r1_time_to_first_token_seconds_bucket{le=\"+Inf\"} 3\n",
           "r1_time_to_first_token_seconds_count 3\n",
           "r1_generations_cancelled_total 1\n",
           "r1_prompt_tokens_total 10\n",
           "r1_prompt_tokens_cached_total 4\n",
           "r1_generated_tokens_total{part=\"reasoning\"} 3\n",
           "r1_prefill_tokens_per_second 12\n",  // (10 - 4) / 0.5
           "r1_decode_tokens_per_second 5\n",   // (3 + 2) / 1.0
           "r1_queue_depth 2\n",
           "r1_slots_busy 1\n",
           "r1_slots_total 4\n",
       })
    EXPECT_NE(t.find(line), std::string::npos) << line;
  EXPECT_NE(t.find("# TYPE r1_inter_token_seconds histogram\n"), std::string::npos);
}

}  // namespace
}  // namespace r1::serve
