// Hostile request bodies: every malformed field is an ApiError 400 naming the field
// (never a JSON library exception, which the server would answer with 500), token ids
// past the tokenizer's vocabulary have defined bytes, and an explicit seed is that seed.
#include <gtest/gtest.h>

#include <limits>
#include <stdexcept>

#include "base/error.hpp"
#include "engine/sampler.hpp"
#include "serve/api_request.hpp"
#include "serve/api_response.hpp"
#include "tokenizer/tokenizer.hpp"

namespace r1::serve {
namespace {

using nlohmann::json;

json user(const std::string& text) { return json::array({{{"role", "user"}, {"content", text}}}); }

// What a parse did: "" when it returned, the ApiError's param when it threw one
// (status must be 400), "<other exception: ...>" for anything else.
template <class F>
std::string outcome(F&& parse) {
  try {
    parse();
    return "";
  } catch (const ApiError& e) {
    if (e.status != 400) return "<status " + std::to_string(e.status) + ">";
    return e.param.empty() ? "<no param>" : e.param;
  } catch (const std::exception& e) {
    return std::string("<other exception: ") + e.what() + ">";
  }
}

std::string chat_outcome(const json& body, const RequestLimits& lim = {}) {
  return outcome([&] { parse_chat_request(body, lim); });
}
std::string completion_outcome(const json& body, const RequestLimits& lim = {}) {
  return outcome([&] { parse_completion_request(body, lim); });
}

// Values of every JSON type, with the edges of the number types.
std::vector<json> hostile_values() {
  return {nullptr,
          true,
          false,
          "x",
          "5",
          "",
          0,
          -1,
          1.5,
          1e308,
          -1e308,
          json(std::numeric_limits<int64_t>::min()),
          json(std::numeric_limits<uint64_t>::max()),
          json::array(),
          json::array({nullptr}),
          json::array({1, "a"}),
          json::object(),
          {{"type", 1}},
          {{"a", nullptr}}};
}

TEST(ServeHostile, EveryTopLevelFieldOfEveryTypeIsAcceptedOrA400NamingIt) {
  const char* fields[] = {"model", "messages", "temperature", "top_p", "top_k", "min_p", "presence_penalty",
                          "frequency_penalty", "repeat_penalty", "seed", "stop", "n", "best_of", "stream",
                          "stream_options", "max_tokens", "max_completion_tokens", "ignore_eos", "reasoning_effort",
                          "thinking", "thinking_budget", "response_format", "logprobs", "top_logprobs",
                          "reasoning_format", "logit_bias", "tools", "user", "grammar", "json_schema"};
  for (const char* f : fields)
    for (const json& v : hostile_values()) {
      json body = {{"messages", user("x")}};
      body[f] = v;
      const std::string got = chat_outcome(body);
      EXPECT_TRUE(got.empty() || got.rfind(f, 0) == 0) << f << " = " << v.dump() << " -> " << got;
    }
  const char* comp_fields[] = {"prompt", "echo", "suffix", "logprobs", "n", "max_tokens", "stop", "seed"};
  for (const char* f : comp_fields)
    for (const json& v : hostile_values()) {
      json body = {{"prompt", "x"}};
      body[f] = v;
      const std::string got = completion_outcome(body);
      EXPECT_TRUE(got.empty() || got.rfind(f, 0) == 0) << f << " = " << v.dump() << " -> " << got;
    }
}

TEST(ServeHostile, NestedObjectsOfEveryTypeAre400NamingTheNestedField) {
  for (const json& v : hostile_values()) {
    for (const char* key : {"role", "content", "tool_calls", "name"}) {
      json msg = {{"role", "assistant"}, {"content", "x"}};
      msg[key] = v;
      const std::string got = chat_outcome({{"messages", json::array({msg})}});
      EXPECT_TRUE(got.empty() || got.rfind("messages[0]", 0) == 0) << key << " = " << v.dump() << " -> " << got;
    }
    // Content parts and tool calls of every shape.
    const std::string part = chat_outcome({{"messages", json::array({{{"role", "user"}, {"content", json::array({v})}}})}});
    EXPECT_EQ(part, "messages[0].content") << v.dump();
    const std::string part_type = chat_outcome(
        {{"messages", json::array({{{"role", "user"}, {"content", json::array({{{"type", v}, {"text", "a"}}})}}})}});
    EXPECT_EQ(part_type, "messages[0].content") << v.dump();
    const std::string call = chat_outcome({{"messages", json::array({{{"role", "assistant"},
                                                                      {"content", nullptr},
                                                                      {"tool_calls", json::array({{{"function", v}}})}}})}});
    EXPECT_EQ(call, "messages[0].tool_calls") << v.dump();
    for (const char* key : {"name", "arguments"}) {
      json fn = {{"name", "f"}, {"arguments", "{}"}};
      fn[key] = v;
      const std::string got = chat_outcome({{"messages", json::array({{{"role", "assistant"},
                                                                       {"content", nullptr},
                                                                       {"tool_calls", json::array({{{"function", fn}}})}}})}});
      EXPECT_TRUE(got.empty() || got == "messages[0].tool_calls") << key << " = " << v.dump() << " -> " << got;
    }
    for (const auto& [obj, key] : std::vector<std::pair<std::string, std::string>>{{"stream_options", "include_usage"},
                                                                                   {"thinking", "type"},
                                                                                   {"thinking", "budget_tokens"},
                                                                                   {"response_format", "type"}}) {
      const std::string got = chat_outcome({{"messages", user("x")}, {obj, {{key, v}}}});
      EXPECT_TRUE(got.empty() || got == obj + "." + key || got == obj) << obj << "." << key << " = " << v.dump()
                                                                        << " -> " << got;
    }
  }
  EXPECT_EQ(chat_outcome({{"messages", user("x")}, {"stream_options", {{"include_usage", "yes"}}}}),
            "stream_options.include_usage");
  EXPECT_EQ(chat_outcome({{"messages", user("x")}, {"thinking", {{"budget_tokens", "x"}}}}), "thinking.budget_tokens");
}

TEST(ServeHostile, LogitBiasIsRefusedNotIgnored) {
  EXPECT_EQ(chat_outcome({{"messages", user("x")}, {"logit_bias", {{"abc", 1}}}}), "logit_bias");
  EXPECT_EQ(chat_outcome({{"messages", user("x")}, {"logit_bias", {{"5", 10}}}}), "logit_bias");
  EXPECT_EQ(chat_outcome({{"messages", user("x")}, {"logit_bias", json::object()}}), "");
}

TEST(ServeHostile, AnExplicitSeedIsThatSeedEven4294967295) {
  for (const json& seed : {json(4294967295u), json(0), json(std::numeric_limits<uint64_t>::max()), json(-1)}) {
    ApiRequest r = parse_chat_request({{"messages", user("x")}, {"seed", seed}, {"n", 2}}, {});
    const uint64_t want = seed.is_number_unsigned() ? seed.get<uint64_t>() : static_cast<uint64_t>(seed.get<int64_t>());
    EXPECT_EQ(Sampler(r.choices[0].sampling, 16).seed(), want) << seed.dump();
    EXPECT_EQ(Sampler(r.choices[1].sampling, 16).seed(), want + 1) << seed.dump();  // choice i: seed + i (wraps)
  }
  // No seed (or null): each choice draws its own.
  ApiRequest r = parse_chat_request({{"messages", user("x")}, {"seed", nullptr}}, {});
  EXPECT_NE(Sampler(r.choices[0].sampling, 16).seed(), Sampler(r.choices[0].sampling, 16).seed());
}

class ServeHostileResponse : public ::testing::Test {
 protected:
  ServeHostileResponse() : tok_(Tokenizer::from_vocab(builtin_byte_vocab())) {
    ctx_.tok = tok_.get();
    ctx_.n = 1;
  }
  std::unique_ptr<Tokenizer> tok_;
  ResponseContext ctx_;
};

// A model may have more embedding rows than its tokenizer has tokens: those ids can be
// sampled or listed as alternatives; their text is "" with no bytes.
TEST_F(ServeHostileResponse, IdsPastTheTokenizerHaveEmptyBytes) {
  const int32_t past = tok_->n_vocab() + 3;
  GenerateEvent ev;
  ev.token = past;
  ev.logprob = -1;
  ev.top_logprobs = {{'a', -1.5f}, {past, -2.0f}, {tok_->n_vocab(), -3.0f}};
  ctx_.chat = false;
  ctx_.format = ReasoningFormat::none;
  ChoiceOutput c;
  EXPECT_NO_THROW(apply_event(ctx_, c, ev, false, "", true));
  EXPECT_EQ(c.lp_legacy["tokens"], json::array({""}));
  EXPECT_EQ(c.lp_legacy["top_logprobs"][0], json::parse(R"({"a":-1.5,"":-2.0})"));  // first entry per text
  EXPECT_EQ(c.lp_legacy["text_offset"], json::array({0}));

  ctx_.chat = true;
  ctx_.format = ReasoningFormat::deepseek;
  ChoiceOutput d;
  EXPECT_NO_THROW(apply_event(ctx_, d, ev, false, "", true));
  ASSERT_EQ(d.lp_content.size(), 1u);
  EXPECT_EQ(d.lp_content[0]["token"], "");
  EXPECT_EQ(d.lp_content[0]["bytes"], json::array());
  EXPECT_EQ(d.lp_content[0]["top_logprobs"][1], json::parse(R"({"token":"","logprob":-2.0,"bytes":[]})"));
}

TEST(ServeHostile, ChoicesPerRequestAreBoundedByTheirShare) {
  RequestLimits lim;
  lim.max_choices = 4;
  EXPECT_EQ(chat_outcome({{"messages", user("x")}, {"n", 4}}, lim), "");
  EXPECT_EQ(chat_outcome({{"messages", user("x")}, {"n", 5}}, lim), "n");
  EXPECT_EQ(completion_outcome({{"prompt", json::array({"a", "b"})}, {"n", 2}}, lim), "");
  EXPECT_EQ(completion_outcome({{"prompt", json::array({"a", "b", "c"})}, {"n", 2}}, lim), "n");
  try {
    parse_completion_request({{"prompt", json::array({"a", "b", "c"})}, {"n", 2}}, lim);
  } catch (const ApiError& e) {
    EXPECT_STREQ(e.what(), "this request asks for 6 choices (3 prompts x n = 2); this server takes at most 4 per "
                           "request (--max-choices)");
  }
}

// Found by the request fuzzer: completions' logprobs ignored limits.max_top_logprobs.
TEST(ServeHostile, CompletionLogprobsRespectTheTopLogprobsLimit) {
  RequestLimits lim;
  lim.max_top_logprobs = 3;
  EXPECT_EQ(completion_outcome({{"prompt", "x"}, {"logprobs", 3}}, lim), "");
  EXPECT_EQ(completion_outcome({{"prompt", "x"}, {"logprobs", 4}}, lim), "logprobs");
  EXPECT_EQ(completion_outcome({{"prompt", "x"}, {"logprobs", 6}}), "logprobs");  // OpenAI's cap: 5
}

TEST(ServeHostile, TokenizeAndDetokenizeBodies) {
  const auto tok = [](const json& body) { return outcome([&] { parse_tokenize_request(body); }); };
  EXPECT_EQ(tok({{"content", "x"}, {"with_pieces", "yes"}}), "with_pieces");
  EXPECT_EQ(tok({{"content", "x"}, {"add_special", 1}}), "add_special");
  EXPECT_EQ(tok({{"content", "x"}, {"parse_special", nullptr}}), "");
  EXPECT_EQ(tok({{"content", 5}}), "content");
  EXPECT_EQ(tok(json::array()), "<no param>");
  EXPECT_EQ(tok({{"messages", user("x")}, {"add_generation_prompt", "no"}}), "add_generation_prompt");
  EXPECT_EQ(tok({{"messages", json::array({{{"role", "user"}, {"content", json::array({{{"type", 1}}})}}})}}),
            "messages[0].content");
  const TokenizeRequest t = parse_tokenize_request({{"content", "hi"}, {"add_special", true}, {"with_pieces", true}});
  EXPECT_EQ(t.content, "hi");
  EXPECT_TRUE(t.add_special && t.parse_special && t.with_pieces && t.messages.is_null());
  const TokenizeRequest m = parse_tokenize_request({{"messages", user("x")}, {"add_generation_prompt", false}});
  EXPECT_EQ(m.messages, user("x"));
  EXPECT_FALSE(m.add_generation_prompt);

  const auto detok = [](const json& body) { return outcome([&] { parse_detokenize_request(body, 10); }); };
  EXPECT_EQ(parse_detokenize_request({{"tokens", json::array({0, 9})}}, 10), (std::vector<int32_t>{0, 9}));
  for (const json& bad : {json(10), json(-1), json(1.5), json("1"), json(std::numeric_limits<uint64_t>::max()),
                          json(std::numeric_limits<int64_t>::min())})
    EXPECT_EQ(detok({{"tokens", json::array({bad})}}), "tokens") << bad.dump();
  EXPECT_EQ(detok({{"tokens", "1"}}), "tokens");
  EXPECT_EQ(detok(json::array()), "tokens");
}

// The SSE provider's body: whatever `produce` throws ends the stream with one error
// event and [DONE] after cancelling through on_failure; nothing escapes.
TEST(ServeHostile, AStreamThatThrowsEndsWithAnErrorEventAndDone) {
  std::string sent;
  std::string failure;
  const auto on_failure = [&](const char* what) {
    failure = what;
    return ApiError(500, std::string("internal error while generating: ") + what, "server_error");
  };
  const auto write_end = [&](const std::string& s) {
    sent += s;
    return true;
  };
  EXPECT_TRUE(run_sse_guarded([]() -> bool { throw Error("token id 9 is out of range"); }, on_failure, write_end));
  EXPECT_EQ(failure, "token id 9 is out of range");
  const std::string prefix = "data: ", done = "\n\ndata: [DONE]\n\n";
  ASSERT_GT(sent.size(), prefix.size() + done.size());
  EXPECT_EQ(sent.substr(0, prefix.size()), prefix);
  EXPECT_EQ(sent.substr(sent.size() - done.size()), done);
  const json ev = json::parse(sent.substr(prefix.size(), sent.size() - prefix.size() - done.size()));
  EXPECT_EQ(ev["error"]["type"], "server_error");
  EXPECT_EQ(ev["error"]["message"], "internal error while generating: token id 9 is out of range");

  sent.clear();
  EXPECT_TRUE(run_sse_guarded([]() -> bool { throw 42; }, on_failure, write_end));  // not an std::exception
  EXPECT_EQ(failure, "unknown exception");
  // A normal stream: what produce returns, nothing added.
  sent.clear();
  failure.clear();
  EXPECT_FALSE(run_sse_guarded([] { return false; }, on_failure, write_end));
  EXPECT_TRUE(sent.empty() && failure.empty());
  // The client went away while the error was being sent: false, nothing thrown.
  EXPECT_FALSE(run_sse_guarded([]() -> bool { throw std::runtime_error("x"); }, on_failure,
                               [](const std::string&) -> bool { throw std::runtime_error("write failed"); }));
}

}  // namespace
}  // namespace r1::serve
