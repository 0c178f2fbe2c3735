// r1::builtin_byte_vocab(): a small byte-level BPE vocabulary for small random
// and small trained models (see tokenizer.hpp for the layout).
#include <cassert>
#include <string>

#include "tokenizer/byte_level.hpp"
#include "tokenizer/tokenizer.hpp"
#include "tokenizer/utf8.hpp"

namespace r1 {
namespace {

// Merges in rank order, byte-level text ('Ġ' = space, 'Ċ' = newline). Learned by
// tests/reference/tokenizer/gen_builtin_vocab.py (GPL-3 and Apache-2.0 licence
// texts plus reasoning-style English paragraphs); regenerate with that script.
constexpr const char* kMerges[] = {
    "Ġ t", "Ġ Ġ", "Ġ a", "Ġt h", "e r", "o r", "o n", "i n", "Ġth e", "i s", "e n", "Ġ c", "a t", "Ġ o",
    "r e", "Ġ s", "i c", "Ġ w", "i on", "Ġ p", "o u", "e d", "Ġo f", "Ġa n", "i t", "e s", "ĠĠ ĠĠ", "Ġ f",
    "r o", "a l", "s e", "in g", "Ġt o", "Ġ m", "Ġ n", "a n", "Ġ in", "Ġ or", "c t", "Ġ is", ". Ċ", "Ġc o",
    "Ġ d", "a r", "Ġ b", "en t", "ic en", "or k", "Ġan d", "r i", "t h", "l e", "y ou", "Ġ you", "ĠĠĠĠ Ġ",
    "Ġ L", "Ġ re", "icen se", "Ġ u", ".Ċ Ċ", "c e", "i v", "Ġ l", "Ġth at", "u t", "Ġp ro", "Ġc on", "Ġ e",
    "Ġf or", "i f", "l y", "at ion", "Ġ T", "r a", "Ġw ork", "o t", "v er", "s t", "u m", "it h", "ĠL icense",
    "Ġth is", "i m", "er m", "ĠĠ Ġ", "Ġn ot", "h e", "Ġa s", "d e", "th er", "s ion", "Ġ P", "Ġco p",
    "Ġw ith", "a y", "c h", "d er", "p p", "Ġan y", "Ġs o", "v e", "Ġb y", "g h", "b le", "Ġ I", "Ġ C",
    "b ut", "e ct", "q u", "Ġ W", "an t", "t ri", "tri but", "Ġ A", "Ġ on", "gh t", "i l", "ou r", "Ġe x",
    "Ġw h", "ri ght", "Ġ S", "Ġ g", "Ġ it", "Ġcop y", "o w", "u b", "Ġu n", "b er", "i r", "c l", "um ber",
    "Ġ (", "Ġ h", "Ġn umber", ", Ċ", "d u", "Ġ \"", "d ing", "g ra", "e t", "o d", "gra m", "our ce", "Ġ Y",
    "Ġm e", "Ġs t", "Ġa pp", "a s", "iv e", "Ġa re", "Ġun der", "od if", "ar t", "at e", "it ion", "Ġ =",
    "Ġb e", "Ġs h", "cl u", "l l", "Ġ O", "ve y", "Ġ G", "Ġs u", "du ct", "Ġo ther", "a ble", "e p", "re s",
    "Ġ F", "Ġt erm", "f or", "i es", "l ic", "ĠW ork", "Ġyou r", "a re", "al l", "d ition", "f er", "ro m",
    "Ġd o", "Ġu s", "a m", "g e", "i d", "o x", "s w", "ver ed", "ĠY ou", "a ct", "r ant", "sw er",
    "Ġan swer", "Ġf rom", "ic h", "l d", "Ġm ay", "i re", "o m", "ver sion", "Ġp art", "Ġwh ich", "ĠT he",
    "Ġm odif", "ĠĠĠĠ ĠĠĠĠ", "at ent", "icen s", "Ġd is", "an s", "es s", "m ent", "Ġ version", "ĠP ro",
    "Ġco de", "Ġco vered", "t er", "ĠT h", "Ġcon vey", "Ġterm s", "p on", "t ion", "Ġ N", "Ġa d", "Ġco m",
    "Ġcopy right", "Ġst ep", "Ġsu ch", "b ox", "er e", "it y", "ou ld", "u r", "u s", "Ġ D", "ĠS ource",
    "Ġl icense", "Ġpro duct", "i al", "Ġp erm", "Ġu se", "f t", "i ed", "i g", "j ect", "o se", "re e",
    "Ġm a", "Ġo b", "I T", "e c", "ft w", "ftw are", "ub lic", "Ġ v", "ĠC on", "Ġt im", "a ch", "a in",
    "is sion", "Ġa c", "Ġcon t", "Ġp atent", "Ġpro v", "d i", "en er", "tribut ion", "Ċ Ċ", "ĠI f", "Ġf in",
    "Ġin clu", "Ġn e", "E R", "ect ion", "k e", "ĠPro gram", "Ġa ll", "Ġnot ic", "Ġp i", "a g", "an d",
    "box ed", "di us", "o l", "qu ire", "ra dius", "u n", "} .Ċ", "Ġ \\", "Ġ radius", "Ġfor m", "Ġtim es",
    "Ġw e", "at ed", "ation s", "o p", "or res", "orres pon", "orrespon ding", "p ro", "Ġ if", "Ġpro gram",
    "Ġus er", "N D", "c k", "dition s", "ener al", "ic al", "iv es", "u st", "Ġc h", "Ġsh ould", "p t",
    "th or", "tribut or", "u l", "u thor", "Ġin ter", "Ġob ject", "ĠĠĠĠ ĠĠĠĠĠ", "T I", "in k", "is e", "o s",
    "s i", "u e", "ĠC orresponding", "Ġa l", "Ġa t", "Ġapp l", "Ġcon ditions", "Ġg rant", "Ġme ans",
    "Ġre quire", "Ġsh all", "Ġso ftware", "Ġv al", "N U", "at er", "at ive", "dition al", "er iv", "i p",
    "p l", "right s", "th e", "Ġperm ission", "Ġprov id", "A R", "b il", "eriv ative", "g er", "ir st",
    "ou t", "ĠG eneral", "ĠWork s", "Ġa uthor", "Ġad d", "Ġe ach", "Ġwith in", "a im", "ar ger", "ar rant",
    "as on", "ce pt", "for m", "he ther", "t o", "Ġ E", "Ġ qu", "ĠD erivative", "ĠG NU", "Ġare a", "Ġas k",
    "Ġas s", "Ġg ives", "Ġl arger", "Ġm ust", "Ġn o", "Ġprovid ed", "Ġre ason", "Ġre ce", "Ġs ection", "Ġs p",
    "E S", "H E", "R A", "a il", "a ve", "bil ity", "c on", "es tion", "g al", "he ck", "iv i", "w ork",
    "Ġ +", "Ġ rights", "Ġ x",
};

}  // namespace

VocabData builtin_byte_vocab() {
  VocabData v;
  v.model = "gpt2";
  v.pre = "deepseek-r1-qwen";
  // Ids 0..255: one token per byte value, in byte order.
  for (int b = 0; b < 256; ++b) {
    std::string t;
    utf8::append(t, byte_level::byte_to_cp(static_cast<uint8_t>(b)));
    v.tokens.push_back(std::move(t));
  }
  // Then one token per merge result, in merge order.
  for (const char* m : kMerges) {
    const std::string s(m);
    const size_t sp = s.find(' ', 1);
    assert(sp != std::string::npos);
    v.tokens.push_back(s.substr(0, sp) + s.substr(sp + 1));
    v.merges.push_back(s);
  }
  v.types.assign(v.tokens.size(), TokenType::normal);
  const auto add = [&](const char* text, TokenType type) {
    v.tokens.emplace_back(text);
    v.types.push_back(type);
    return static_cast<int32_t>(v.tokens.size() - 1);
  };
  v.bos = add("<｜begin▁of▁sentence｜>", TokenType::control);
  v.eos = add("<｜end▁of▁sentence｜>", TokenType::control);
  v.pad = v.eos;
  add("<｜User｜>", TokenType::user_defined);
  add("<｜Assistant｜>", TokenType::user_defined);
  add("<think>", TokenType::user_defined);
  add("</think>", TokenType::user_defined);
  v.add_bos = true;
  v.add_eos = false;
  return v;
}

}  // namespace r1
