// GPT-2 byte-level alphabet: each of the 256 byte values is given a printable
// Unicode character, so that byte strings can be stored as token text. Bytes
// '!'..'~', 0xA1..0xAC and 0xAE..0xFF map to themselves; the other 68 bytes
// (controls, space, 0x7F..0xA0, 0xAD) map to U+0100.. in byte order (so ' ' is
// 'Ġ' U+0120 and '\n' is 'Ċ' U+010A).
#pragma once
#include <array>
#include <cstdint>
#include <string>
#include <string_view>

namespace r1::byte_level {

// Code point standing for byte b.
uint32_t byte_to_cp(uint8_t b);
// Byte that code point cp stands for, or -1 when cp is not in the alphabet.
int byte_from_cp(uint32_t cp);

// Encodes raw bytes as byte-level text (UTF-8 of the mapped characters).
std::string encode(std::string_view bytes);
// Decodes byte-level text back to raw bytes. Characters outside the alphabet
// (e.g. in added tokens) are kept as their own UTF-8. Returns false in *all_mapped
// when at least one character was outside the alphabet.
std::string decode(std::string_view text, bool* all_mapped = nullptr);

}  // namespace r1::byte_level
