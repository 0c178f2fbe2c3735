// UTF-8 sanitizing, incomplete tails, NFC, byte-level alphabet: expected values
// worked out by hand from the Unicode standard (Table 3-7, UAX #15 examples).
#include <gtest/gtest.h>

#include "tokenizer/byte_level.hpp"
#include "tokenizer/tokenizer.hpp"
#include "tokenizer/unicode_nfc.hpp"
#include "tokenizer/utf8.hpp"

using namespace r1;
using namespace r1::tok;

namespace {
const std::string R = "\xEF\xBF\xBD";  // U+FFFD
}

TEST(TokenizerUtf8, SanitizeKeepsValidText) {
  for (std::string s : {"", "abc", "h\xC3\xA9llo", "\xE4\xB8\xAD\xE6\x96\x87", "\xF0\x9F\x98\x80", "\xF4\x8F\xBF\xBF"})
    EXPECT_EQ(sanitize_utf8(s), s);
}

TEST(TokenizerUtf8, SanitizeMaximalSubparts) {
  EXPECT_EQ(sanitize_utf8("a\xFF" "b"), "a" + R + "b");
  EXPECT_EQ(sanitize_utf8("\xE2\x82"), R);                 // truncated 3-byte: one error
  EXPECT_EQ(sanitize_utf8("\xE2\x82" "a"), R + "a");
  EXPECT_EQ(sanitize_utf8("\xF0\x9F\x98"), R);             // truncated 4-byte: one error
  EXPECT_EQ(sanitize_utf8("\xF0\x80\x80"), R + R + R);     // F0 needs 90..BF next
  EXPECT_EQ(sanitize_utf8("\xED\xA0\x80"), R + R + R);     // surrogate
  EXPECT_EQ(sanitize_utf8("\xC0\xAF"), R + R);             // overlong
  EXPECT_EQ(sanitize_utf8("\xF4\x90\x80\x80"), R + R + R + R);  // > U+10FFFF
  EXPECT_EQ(sanitize_utf8("\x80\x80"), R + R);             // stray continuations
  EXPECT_EQ(sanitize_utf8("\xE2\x82\xAC\xE2"), "\xE2\x82\xAC" + R);
}

TEST(TokenizerUtf8, IncompleteTail) {
  EXPECT_EQ(utf8_incomplete_tail(""), 0u);
  EXPECT_EQ(utf8_incomplete_tail("abc"), 0u);
  EXPECT_EQ(utf8_incomplete_tail("a\xE2"), 1u);
  EXPECT_EQ(utf8_incomplete_tail("a\xE2\x82"), 2u);
  EXPECT_EQ(utf8_incomplete_tail("a\xE2\x82\xAC"), 0u);
  EXPECT_EQ(utf8_incomplete_tail("\xF0\x9F\x98"), 3u);
  EXPECT_EQ(utf8_incomplete_tail("\xF0\x9F\x98\x80"), 0u);
  EXPECT_EQ(utf8_incomplete_tail("a\x80"), 0u);    // stray continuation: invalid, not pending
  EXPECT_EQ(utf8_incomplete_tail("\xE0\x80"), 0u); // E0 80 can never complete
  EXPECT_EQ(utf8_incomplete_tail("\xFF"), 0u);
}

TEST(TokenizerUtf8, ByteLevelAlphabet) {
  EXPECT_EQ(byte_level::byte_to_cp(' '), 0x120u);   // 'Ġ'
  EXPECT_EQ(byte_level::byte_to_cp('\n'), 0x10Au);  // 'Ċ'
  EXPECT_EQ(byte_level::byte_to_cp('a'), uint32_t('a'));
  EXPECT_EQ(byte_level::byte_to_cp(0x00), 0x100u);
  EXPECT_EQ(byte_level::byte_to_cp(0x7F), 0x121u);  // after the 33 controls and space
  EXPECT_EQ(byte_level::byte_to_cp(0xAD), 0x143u);  // the last remapped byte
  for (int b = 0; b < 256; ++b) EXPECT_EQ(byte_level::byte_from_cp(byte_level::byte_to_cp(uint8_t(b))), b);
  EXPECT_EQ(byte_level::encode(" hi\n"), "\xC4\xA0hi\xC4\x8A");
  bool all = false;
  EXPECT_EQ(byte_level::decode("\xC4\xA0hi\xC4\x8A", &all), " hi\n");
  EXPECT_TRUE(all);
  EXPECT_EQ(byte_level::decode("<\xEF\xBD\x9C>", &all), "<\xEF\xBD\x9C>");  // '｜' is outside the alphabet
  EXPECT_FALSE(all);
}

TEST(TokenizerUtf8, Nfc) {
  EXPECT_EQ(nfc("abc"), "abc");
  EXPECT_EQ(nfc("e\xCC\x81"), "\xC3\xA9");                     // e + U+0301 -> U+00E9
  EXPECT_EQ(nfc("A\xCC\x8A"), "\xC3\x85");                     // A + ring -> U+00C5
  EXPECT_EQ(nfc("\xE2\x84\xAB"), "\xC3\x85");                  // U+212B ANGSTROM SIGN (singleton)
  EXPECT_EQ(nfc("\xE1\x84\x80\xE1\x85\xA1"), "\xEA\xB0\x80");  // L + V jamo -> U+AC00
  EXPECT_EQ(nfc("\xE1\x84\x80\xE1\x85\xA1\xE1\x86\xA8"), "\xEA\xB0\x81");  // L V T -> U+AC01
  // UAX #15: U+1E0B U+0323 (d dot-above, dot-below) -> U+1E0D U+0307.
  EXPECT_EQ(nfc("\xE1\xB8\x8B\xCC\xA3"), "\xE1\xB8\x8D\xCC\x87");
  // q + dot-above + dot-below: reordered, nothing composes with q.
  EXPECT_EQ(nfc("q\xCC\x87\xCC\xA3"), "q\xCC\xA3\xCC\x87");
  // Composition exclusion: U+0958 (Devanagari qa) stays decomposed.
  EXPECT_EQ(nfc("\xE0\xA5\x98"), "\xE0\xA4\x95\xE0\xA4\xBC");
  EXPECT_TRUE(nfc_quick_check("plain ascii \xC3\xA9"));
  EXPECT_FALSE(nfc_quick_check("e\xCC\x81"));
}
