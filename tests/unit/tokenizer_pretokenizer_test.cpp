// Pre-tokenizer splits, checked by hand against the regex alternatives.
#include <gtest/gtest.h>

#include "base/error.hpp"
#include "tokenizer/pretokenizer.hpp"

using namespace r1;
using namespace r1::tok;
using Pieces = std::vector<std::string>;

namespace {
Pieces split(const char* pre, std::string_view text) {
  auto p = PreTokenizer::create(pre);
  std::vector<Span> spans;
  p->split(text, 0, &spans);
  Pieces out;
  uint32_t at = 0;
  for (const Span& s : spans) {
    EXPECT_EQ(s.begin, at);  // pieces tile the text
    EXPECT_LT(s.begin, s.end);
    at = s.end;
    out.emplace_back(text.substr(s.begin, s.end - s.begin));
  }
  EXPECT_EQ(at, text.size());
  return out;
}
}  // namespace

TEST(TokenizerPre, Qwen2) {
  // "'s" is a contraction; " 1" cannot join (a space only prefixes letters and
  // punctuation), digits are single; of two spaces before a word the first is
  // the \s+(?!\S) piece; "\n\n" is \s*[\r\n]+.
  EXPECT_EQ(split("qwen2", "Hello world's 123  foo\n\nbar"),
            (Pieces{"Hello", " world", "'s", " ", "1", "2", "3", " ", " foo", "\n\n", "bar"}));
  EXPECT_EQ(split("deepseek-r1-qwen", "DON'T 'Ll"), (Pieces{"DON", "'T", " '", "Ll"}));
  // Punctuation run with trailing newlines; a letter after punctuation.
  // A single non-letter (here '+', '\t') may prefix a word.
  EXPECT_EQ(split("qwen2", "x = (a+b);\r\n\ty"), (Pieces{"x", " =", " (", "a", "+b", ");\r\n", "\ty"}));
  // Letters of any script; 'ſ' does not make a contraction.
  EXPECT_EQ(split("qwen2", "'ſ"), (Pieces{"'ſ"}));
}

TEST(TokenizerPre, Llama3DigitsInThrees) {
  EXPECT_EQ(split("llama-bpe", "x 1234567"), (Pieces{"x", " ", "123", "456", "7"}));
}

TEST(TokenizerPre, DeepSeekV3Sequence) {
  // Stage 1 isolates digit groups of up to three, stage 2 CJK/kana runs, stage 3
  // words, each applied inside the pieces of the previous stage.
  EXPECT_EQ(split("deepseek-v3", "abc123456789x 中文字 かな"),
            (Pieces{"abc", "123", "456", "789", "x", " ", "中文字", " ", "かな"}));
  // Punctuation followed by ASCII letters is one piece, but " @" is tried at the
  // space, where the punctuation-run alternative wins; the space before digits
  // stays alone (digits were isolated first).
  EXPECT_EQ(split("deepseek-v3", "a.b @foo 12"), (Pieces{"a", ".b", " @", "foo", " ", "12"}));
  // Letters with combining marks stay together.
  EXPECT_EQ(split("deepseek-v3", "e\xCC\x81t\xC3\xA9"), (Pieces{"e\xCC\x81t\xC3\xA9"}));
}

TEST(TokenizerPre, Gpt2AndDefault) {
  EXPECT_EQ(split("gpt-2", "I'm here  now"), (Pieces{"I", "'m", " here", " ", " now"}));
  EXPECT_EQ(split("gpt2", "abc 12"), (Pieces{"abc", " 12"}));
  // llama.cpp "default": punctuation runs, then GPT-2, then digit runs, then
  // groups of three ASCII digits.
  EXPECT_EQ(split("default", "a,b 1234"), (Pieces{"a", ",", "b", " ", "123", "4"}));
}

TEST(TokenizerPre, WhitespaceIsUnicodeWhiteSpace) {
  // U+00A0 and U+3000 are white space; U+180E and U+FEFF are not.
  EXPECT_EQ(split("qwen2", "a\xC2\xA0\xC2\xA0" "b"), (Pieces{"a", "\xC2\xA0", "\xC2\xA0" "b"}));
  EXPECT_EQ(split("qwen2", "a\xE3\x80\x80"), (Pieces{"a", "\xE3\x80\x80"}));
  EXPECT_EQ(split("qwen2", "a\xEF\xBB\xBF" "b"), (Pieces{"a", "\xEF\xBB\xBF" "b"}));
  EXPECT_EQ(split("qwen2", "a\xC2\x85\xC2\x85"), (Pieces{"a", "\xC2\x85\xC2\x85"}));
}

TEST(TokenizerPre, UnknownNameIsAnError) {
  try {
    PreTokenizer::create("gpt-5");
    FAIL();
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("gpt-5"), std::string::npos);
  }
}

TEST(TokenizerPre, LongRunsAreLinear) {
  // 256 KB of whitespace / punctuation / digits must not blow the JIT stack.
  for (const char* pre : {"qwen2", "deepseek-v3", "llama-bpe", "gpt-2", "default"}) {
    for (char c : {' ', '!', '7', '\n', '\x01'}) {
      std::string s(1 << 18, c);
      s += "end";
      auto p = PreTokenizer::create(pre);
      std::vector<Span> spans;
      p->split(s, 0, &spans);
      ASSERT_FALSE(spans.empty());
      EXPECT_EQ(spans.back().end, s.size());
    }
  }
}
