// Chat formatting for generate(): the built-in R1 format (expected strings
// written by hand from the DeepSeek-R1 template's rules), the reasoning-state
// decision, BOS handling, message validation, and agreement with the real
// R1-Distill Jinja template shipped in models/templates/.
#include <gtest/gtest.h>

#include <fstream>
#include <sstream>

#include "base/error.hpp"
#include "engine/chat_format.hpp"
#include "tokenizer/tokenizer.hpp"

namespace r1 {
namespace {

using nlohmann::json;

json msg(const char* role, const char* content) { return {{"role", role}, {"content", content}}; }

TEST(ChatFormat, BuiltInR1SingleTurn) {
  json m = json::array({msg("user", "What is 2+2?")});
  EXPECT_EQ(format_chat_builtin_r1(m, "<B>", true), "<B><｜User｜>What is 2+2?<｜Assistant｜><think>\n");
  EXPECT_EQ(format_chat_builtin_r1(m, "", false), "<｜User｜>What is 2+2?");
}

TEST(ChatFormat, BuiltInR1MultiTurnDropsEarlierReasoning) {
  json m = json::array({msg("system", "Be brief."), msg("user", "hi"),
                        msg("assistant", "<think>\nlong thought\n</think>\n\nHello!"), msg("user", "bye")});
  EXPECT_EQ(format_chat_builtin_r1(m, "<B>", true),
            "<B>Be brief.<｜User｜>hi<｜Assistant｜>\n\nHello!<｜end▁of▁sentence｜>"
            "<｜User｜>bye<｜Assistant｜><think>\n");
  // An assistant turn without reasoning is kept whole; several system messages join.
  json m2 = json::array({msg("system", "A"), msg("system", "B"), msg("user", "q"), msg("assistant", "ans")});
  EXPECT_EQ(format_chat_builtin_r1(m2, "", false),
            "A\n\nB<｜User｜>q<｜Assistant｜>ans<｜end▁of▁sentence｜>");
}

TEST(ChatFormat, RejectsMalformedMessages) {
  EXPECT_THROW(format_chat_builtin_r1(json::object(), "", true), Error);
  EXPECT_THROW(format_chat_builtin_r1(json::array({json::array()}), "", true), Error);
  EXPECT_THROW(format_chat_builtin_r1(json::array({{{"role", "user"}}}), "", true), Error);
  EXPECT_THROW(format_chat_builtin_r1(json::array({{{"role", "user"}, {"content", 3}}}), "", true), Error);
  EXPECT_THROW(format_chat_builtin_r1(json::array({msg("wizard", "x")}), "", true), Error);
  try {
    validate_messages(json::array({msg("user", "ok"), {{"content", "x"}}}));
    FAIL();
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("message 1"), std::string::npos) << e.what();
  }
  // A null assistant content is allowed (tool-call turns).
  EXPECT_NO_THROW(validate_messages(json::array({{{"role", "assistant"}, {"content", nullptr}}})));
}

TEST(ChatFormat, EndsInReasoning) {
  EXPECT_TRUE(ends_in_reasoning("<｜Assistant｜><think>\n"));
  EXPECT_TRUE(ends_in_reasoning("<think></think> <think>x"));
  EXPECT_FALSE(ends_in_reasoning("<think>\n</think>\n\n"));
  EXPECT_FALSE(ends_in_reasoning("no tags"));
  EXPECT_FALSE(ends_in_reasoning(""));
}

TEST(ChatFormat, BuiltInVocabularyUsesTheBuiltInFormatAndOneBos) {
  auto tok = Tokenizer::from_vocab(builtin_byte_vocab());
  ASSERT_TRUE(tok->vocab().chat_template.empty());
  const std::string text = format_chat(*tok, json::array({msg("user", "hi")}), true);
  EXPECT_EQ(text, "<｜begin▁of▁sentence｜><｜User｜>hi<｜Assistant｜><think>\n");
  const auto ids = tokenize_prompt(*tok, text);
  ASSERT_FALSE(ids.empty());
  EXPECT_EQ(ids[0], tok->bos());
  EXPECT_NE(ids.size() > 1 ? ids[1] : -1, tok->bos());
  EXPECT_EQ(std::count(ids.begin(), ids.end(), tok->bos()), 1);
  // Text without the BOS text gets one from the model (add_bos is true).
  const auto ids2 = tokenize_prompt(*tok, "<｜User｜>hi");
  EXPECT_EQ(ids2[0], tok->bos());
  EXPECT_EQ(std::vector<int32_t>(ids2.begin() + 1, ids2.end()),
            std::vector<int32_t>(ids.begin() + 1, ids.begin() + static_cast<long>(ids2.size())));
}

std::string read_file(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

// The real R1-Distill template (rendered by the project's Jinja engine) and the
// built-in format are two independent implementations of the same format.
TEST(ChatFormat, BuiltInMatchesTheRealR1Template) {
  VocabData v = builtin_byte_vocab();
  v.chat_template = read_file(std::string(R1_SOURCE_DIR) + "/models/templates/deepseek-r1-distill.jinja");
  ASSERT_FALSE(v.chat_template.empty());
  auto tok = Tokenizer::from_vocab(v);
  const std::string bos = tok->token_bytes(tok->bos());
  const json conversations[] = {
      json::array({msg("user", "hi")}),
      json::array({msg("system", "Be brief."), msg("user", "2+2?")}),
      json::array({msg("user", "a"), msg("assistant", "<think>\nx\n</think>\n\nb"), msg("user", "c")}),
      json::array({msg("user", "a"), msg("assistant", "plain"), msg("user", "ü 😀 \n\n end")}),
      // A tool-call turn (content null), two results, the answer, and a new question.
      json::array({msg("user", "weather?"),
                   {{"role", "assistant"}, {"content", nullptr},
                    {"tool_calls", json::array({{{"type", "function"}, {"function", {{"name", "w"}, {"arguments", "{\"c\": 1}"}}}},
                                                {{"type", "function"}, {"function", {{"name", "t"}, {"arguments", "{}"}}}}})}},
                   msg("tool", "18C"), msg("tool", "noon"), msg("assistant", "It is 18C at noon."), msg("user", "thanks")}),
      json::array({msg("user", "q"),
                   {{"role", "assistant"}, {"content", nullptr},
                    {"tool_calls", json::array({{{"type", "function"}, {"function", {{"name", "w"}, {"arguments", "{}"}}}}})}},
                   msg("tool", "r")}),
  };
  for (const auto& c : conversations) {
    EXPECT_EQ(format_chat(*tok, c, true), format_chat_builtin_r1(c, bos, true)) << c.dump();
    EXPECT_EQ(format_chat(*tok, c, false), format_chat_builtin_r1(c, bos, false)) << c.dump();
  }
}

}  // namespace
}  // namespace r1
