// Deterministic tokenizer test corpus (tests/reference/tokenizer.test.mjs).
//
// makeCorpus() returns [{kind, text}] or [{kind, bytes}] items (bytes: raw,
// possibly invalid UTF-8). Every string is built from a seeded PRNG, so the
// corpus is the same on every run and machine.
//
// Two deliberate exclusions, both documented in the test:
// - Code points whose Unicode general category differs between Unicode 14 (the
//   tables in PCRE2 10.42, which r1 uses) and the Unicode of the Node.js running
//   the JS reference (17 for Node 20.20): characters assigned after 14, and
//   U+0295, U+1171E whose category changed. EXCLUDED below lists them (the
//   difference of Python 3.11's unicodedata and Node's \p{gc=...}).
// - U+0085 and U+FEFF: JavaScript's \s (used by the JS reference for the
//   tokenizer.json \s) takes U+FEFF and not U+0085; Hugging Face tokenizers,
//   llama.cpp and r1 use the Unicode White_Space property (U+0085 yes, U+FEFF no).

export const EXCLUDED = [
   [0x295, 0x295], [0x88F, 0x88F], [0x897, 0x897], [0xC5C, 0xC5C], [0xCDC, 0xCDC], [0xCF3, 0xCF3],
   [0xECE, 0xECE], [0x1ACF, 0x1ADD], [0x1AE0, 0x1AEB], [0x1B4E, 0x1B4F], [0x1B7F, 0x1B7F],
   [0x1C89, 0x1C8A], [0x20C1, 0x20C1], [0x2427, 0x2429], [0x2B96, 0x2B96], [0x2FFC, 0x2FFF],
   [0x31E4, 0x31E5], [0x31EF, 0x31EF], [0xA7CB, 0xA7CF], [0xA7D2, 0xA7D2], [0xA7D4, 0xA7D4],
   [0xA7DA, 0xA7DC], [0xA7F1, 0xA7F1], [0xFBC3, 0xFBD2], [0xFD90, 0xFD91], [0xFDC8, 0xFDCE],
   [0x105C0, 0x105F3], [0x10940, 0x10959], [0x10D40, 0x10D65], [0x10D69, 0x10D85],
   [0x10D8E, 0x10D8F], [0x10EC2, 0x10EC7], [0x10ED0, 0x10ED8], [0x10EFA, 0x10EFF],
   [0x1123F, 0x11241], [0x11380, 0x11389], [0x1138B, 0x1138B], [0x1138E, 0x1138E],
   [0x11390, 0x113B5], [0x113B7, 0x113C0], [0x113C2, 0x113C2], [0x113C5, 0x113C5],
   [0x113C7, 0x113CA], [0x113CC, 0x113D5], [0x113D7, 0x113D8], [0x113E1, 0x113E2],
   [0x116D0, 0x116E3], [0x1171E, 0x1171E], [0x11B00, 0x11B09], [0x11B60, 0x11B67],
   [0x11BC0, 0x11BE1], [0x11BF0, 0x11BF9], [0x11DB0, 0x11DDB], [0x11DE0, 0x11DE9],
   [0x11F00, 0x11F10], [0x11F12, 0x11F3A], [0x11F3E, 0x11F5A], [0x1342F, 0x1342F],
   [0x13439, 0x13455], [0x13460, 0x143FA], [0x16100, 0x16139], [0x16D40, 0x16D79],
   [0x16EA0, 0x16EB8], [0x16EBB, 0x16ED3], [0x16FF2, 0x16FF6], [0x187F8, 0x187FF],
   [0x18CFF, 0x18CFF], [0x18D09, 0x18D1E], [0x18D80, 0x18DF2], [0x1B132, 0x1B132],
   [0x1B155, 0x1B155], [0x1CC00, 0x1CCFC], [0x1CD00, 0x1CEB3], [0x1CEBA, 0x1CED0],
   [0x1CEE0, 0x1CEF0], [0x1D2C0, 0x1D2D3], [0x1DF25, 0x1DF2A], [0x1E030, 0x1E06D],
   [0x1E08F, 0x1E08F], [0x1E4D0, 0x1E4F9], [0x1E5D0, 0x1E5FA], [0x1E5FF, 0x1E5FF],
   [0x1E6C0, 0x1E6DE], [0x1E6E0, 0x1E6F5], [0x1E6FE, 0x1E6FF], [0x1F6D8, 0x1F6D8],
   [0x1F6DC, 0x1F6DC], [0x1F774, 0x1F77F], [0x1F7D9, 0x1F7D9], [0x1F8B2, 0x1F8BB],
   [0x1F8C0, 0x1F8C1], [0x1F8D0, 0x1F8D8], [0x1FA54, 0x1FA57], [0x1FA75, 0x1FA77],
   [0x1FA87, 0x1FA8A], [0x1FA8E, 0x1FA8F], [0x1FAAD, 0x1FAAF], [0x1FABB, 0x1FABF],
   [0x1FAC6, 0x1FAC6], [0x1FAC8, 0x1FAC8], [0x1FACD, 0x1FACF], [0x1FADA, 0x1FADC],
   [0x1FADF, 0x1FADF], [0x1FAE8, 0x1FAEA], [0x1FAEF, 0x1FAEF], [0x1FAF7, 0x1FAF8],
   [0x1FBCB, 0x1FBEF], [0x1FBFA, 0x1FBFA], [0x2B739, 0x2B73F], [0x2CEA2, 0x2CEAD],
   [0x2EBF0, 0x2EE5D], [0x31350, 0x33479],

  [0x85, 0x85], [0xFEFF, 0xFEFF],
];

export function isExcluded(cp) {
  if (cp >= 0xd800 && cp <= 0xdfff) return true;  // surrogates: not encodable in UTF-8
  for (const [a, b] of EXCLUDED) if (cp >= a && cp <= b) return true;
  return false;
}

// mulberry32: small, fast, deterministic.
export function rng(seed) {
  let a = seed >>> 0;
  const next = () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
  const int = (lo, hi) => lo + Math.floor(next() * (hi - lo + 1));  // inclusive
  const pick = (arr) => arr[Math.floor(next() * arr.length)];
  return {next, int, pick};
}

const CATEGORIES = ['Lu', 'Ll', 'Lt', 'Lm', 'Lo', 'Mn', 'Mc', 'Me', 'Nd', 'Nl', 'No', 'Pc', 'Pd', 'Ps', 'Pe', 'Pi',
                    'Pf', 'Po', 'Sm', 'Sc', 'Sk', 'So', 'Zs', 'Zl', 'Zp', 'Cc', 'Cf', 'Co', 'Cn'];

// Code points per general category (assigned ones from the BMP, SMP, SIP and
// TIP; Co and Cn samples from the BMP/SMP and the private-use planes).
function categoryTable() {
  const res = CATEGORIES.map((c) => [c, new RegExp(`^\\p{gc=${c}}$`, 'u')]);
  const table = Object.fromEntries(CATEGORIES.map((c) => [c, []]));
  const scan = (lo, hi) => {
    for (let cp = lo; cp <= hi; cp++) {
      if (isExcluded(cp)) continue;
      const s = String.fromCodePoint(cp);
      for (const [c, re] of res) {
        if (re.test(s)) {
          table[c].push(cp);
          break;
        }
      }
    }
  };
  scan(0, 0x323af);
  scan(0xe0000, 0xe01ef);
  scan(0xf0000, 0xf00ff);
  scan(0x10fff0, 0x10ffff);
  return table;
}

const S = (...cps) => String.fromCodePoint(...cps);
const range = (lo, hi) => Array.from({length: hi - lo + 1}, (_, i) => lo + i);

const WORDS = ['the', 'reason', 'answer', 'Hello', 'world', 'DeepSeek', 'token', 'naïve', 'café', 'über', 'Straße',
               'résumé', 'Ελληνικά', 'русский', 'العربية', 'עברית', 'हिन्दी', 'ภาษาไทย', '日本語', '中文', '한국어',
               'x', 'I', 'a', 'ok', 'HTTP', 'snake_case', 'camelCase', 'ALLCAPS', 'Zürich', 'ǅemal', 'ﬁne'];
const SCRIPT_SNIPPETS = [
  'مرحبا بالعالم، كيف حالك؟ ١٢٣ ٤٥٦',                                  // Arabic + Arabic-Indic digits
  'שָׁלוֹם עוֹלָם! זה מבחן.',                                            // Hebrew with points
  'नमस्ते दुनिया। यह एक परीक्षण है। १२३४',                                // Devanagari
  'สวัสดีชาวโลก นี่คือการทดสอบ ๑๒๓',                                        // Thai
  'Привет, мир! Это тест №5.', 'Γειά σου Κόσμε· ό,τι;', 'Ողջույն աշխարհ', 'გამარჯობა მსოფლიო',
  'こんにちは、世界！カタカナとひらがな。ｶﾀｶﾅ', '你好，世界！这是一个测试。（括号）【方括号】', '안녕하세요 세계! 테스트입니다.',
  'ᐊᐃᓐᓇᖅ ᑎᑎᕋᐅᓯᖅ', 'ሰላም ዓለም', 'ᚠᚢᚦᚨᚱᚲ', 'Tiếng Việt có dấu: Hà Nội, Thành phố Hồ Chí Minh',
  'ﷺ ﷽ ﻼ', 'Ｆｕｌｌｗｉｄｔｈ　ＡＢＣ　１２３',
];
const CODE = [
  'int main(int argc, char** argv) {\n    printf("%d\\n", argc);\n    return 0;\n}\n',
  'def f(x: int) -> int:\n    """Docstring."""\n    return x ** 2 if x > 0 else -x  # comment\n',
  'const add = (a, b) => a + b;\nconsole.log(`sum=${add(1, 2)}`);\n',
  'fn main() {\n\tlet v: Vec<u8> = vec![1, 2, 3];\n\tprintln!("{:?}", v);\n}\n',
  'package main\n\nimport "fmt"\n\nfunc main() {\n\tfmt.Println("hi")\n}\n',
  "SELECT id, name FROM users WHERE age >= 18 AND name LIKE '%son' ORDER BY id DESC;",
  '<!DOCTYPE html>\n<html lang="en"><body><p class="x">Hi &amp; bye</p></body></html>',
  '#!/bin/sh\nfor f in *.txt; do echo "$f" | tr a-z A-Z >> out.log 2>&1; done\n',
  '{"key": [1, 2.5, -3e10, true, null], "nested": {"a": "b\\u00e9"}}',
  'x+=1;y-=2;z*=3;w/=4;a%=5;b<<=6;c>>=7;d&&=e||f??g;',
  '    if (a != b && c <= d || !e) { return; }\r\n',
];
const LATEX = [
  '\\frac{a}{b} + \\sqrt{x^2 + y^2} = \\boxed{42}',
  '$$\\sum_{i=1}^{n} i^2 = \\frac{n(n+1)(2n+1)}{6}$$',
  '\\begin{align} E &= mc^2 \\\\ F &= ma \\end{align}',
  '\\int_0^\\infty e^{-x^2}\\,dx = \\frac{\\sqrt{\\pi}}{2}',
  'Let $f(x)=3x+5$. Then $f(5)=20$, so the answer is $\\boxed{5}$.',
  '\\mathbb{R}^n \\to \\mathcal{O}(n\\log n), \\alpha\\beta\\gamma',
];
const URLS = ['https://example.com/path/to/page?query=1&x=y#frag', 'http://localhost:8080/v1/chat/completions',
              'mailto:someone@example.org', 'ftp://ftp.example.net/pub/file.tar.gz', '/usr/local/bin/r1',
              'C:\\Users\\name\\Documents\\file.txt', 'git@github.com:owner/repo.git', 'www.deepseek.com'];
const CONTRACTIONS = ["s", "t", "re", "ve", "m", "ll", "d"];
const DS_SPECIALS = ['<｜begin▁of▁sentence｜>', '<｜end▁of▁sentence｜>', '<｜User｜>', '<｜Assistant｜>', '<|EOT|>',
                     '<｜tool▁calls▁begin｜>', '<｜tool▁sep｜>', '<｜fim▁hole｜>', '<｜place▁holder▁no▁798｜>'];
const QWEN_SPECIALS = ['<|endoftext|>', '<|im_start|>', '<|im_end|>', '<think>', '</think>', '<tool_call>',
                       '<|vision_start|>', '<|fim_middle|>'];
const NEAR_SPECIALS = ['<｜User', '<|im_start', '<think', '</think', '<|EOT|', '｜>', '<', '<|', '<｜'];
const EMOJI = [
  '😀', '👍🏽', '👩‍💻', '👨‍👩‍👧‍👦', '🏳️‍🌈', '🇯🇵', '🇺🇸', '1️⃣', '#️⃣', '❤️', '🧑🏿‍🚀', '👋🏻', '🤷‍♀️', '🫠',
  '🐉', '🍣', '⌚', '☕', '✔️', '🙇🏼‍♂️', '👁️‍🗨️', '🏴󠁧󠁢󠁳󠁣󠁴󠁿',
];
const WS = [' ', '\t', '\n', '\r', '\r\n', '\v', '\f', '\u00a0', '\u1680', '\u2000', '\u2003', '\u2009', '\u200a',
            '\u2028', '\u2029', '\u202f', '\u205f', '\u3000', '\u200b', '\u180e', '\u2060'];
const NUMBERS = ['1,234,567.89', '1 234 567', '1_000_000', '3.14159e-10', '-42', '+7', '0x1F', '0b1010', '12:30:45',
                 '2024-01-01', '$1,000.00', '50%', '1.2.3', '10^9', '½', '²³', 'Ⅻ', '①②', '٣٫١٤', '१२३', '๓๔', '１２３',
                 '1e100', '007', '.5', '5.', '1/2', '−3'];

// Section 17 material (see makeCorpus). Escapes: characters that NFC would
// change (U+2126 OHM, U+212A KELVIN, Greek with oxia/prosgegrammeni).
const PRE_LETTERS = ['abc', 'Z', 'µ', 'À', 'Ö', '×', 'ø', 'ÿ', 'ƻ', 'ǅ', 'ʔ', 'ʖ', 'ʰ', 'Ω', '\u2126', 'K', '\u212a',
                     'ℵ', 'ώ', '\u1f7d', 'ι', '\u1fbe', '\u1fd3', '\u1fdb', 'Ελληνικά', 'Привет', 'мир', 'Ողջույն',
                     'Ⴀ', 'გამარჯობა', 'Ꭰ', 'ꭰ', 'ᲐᲑ', 'ᴀᴫ', 'ᵬ', 'ᵸ', 'Ḁ', 'ỹ', 'Ⰰ', 'ⰰ', 'Ⲁ', 'Ꙁ', 'Ꜣ', 'ꝰ', 'ﬁ',
                     'ﬓ', 'Ａ', 'ｚ', '𐐀', '𐓘', '𐲀', '𑢠', '𞤀', 'ℂ', 'ℎ', 'ℹ', 'ⅅ', 'ⅎ', 'Ↄ', 'ǂ', 'א', 'ب', 'क',
                     'ก', 'ㄱ', 'ᄀ'];
const PRE_PUNCT = ['!', '"', '#', '/', ':', '@', '[', '`', '{', '~', '$', '+', '^', '|', '！', '＂', '／', '：', '＠',
                   '［', '｀', '｛', '～', '｟', '｡', '‘', '’', '‚', '“', '”', '„', '‟', '†', '、', '。', '〃', '〈',
                   '…', '—', '¿', '¡', '§', '«', '»', '·', '•', '€', '£', '©', '°', '±'];
const PRE_CJK = ['中', '文字', '龥', '龦', '鿿', 'ࠀ', 'ࡀ', 'ह', 'ㄅ', '丁', '一', '丂', 'あ', 'カタカナ', '가', '힣', 'ힰ',
                 '\ud7ff', '㐀', '𠀀', '豈', 'ｶ', '〜', '〡', '〆', '㈠', '㊀', 'ꀀ', 'ꙮ'];
const PRE_WS = [' ', '  ', '\t', '\u00a0', '\u1680', '\u2000', '\u2003', '\u200a', '\u2028', '\u2029', '\u202f',
                '\u205f', '\u3000', '\u3000\u3000', '\u200b', '\u180e', ' \u3000', '\u3000 '];
const PRE_NL = ['\n', '\r', '\r\n', '\n\r', '\r\r\n', '\n\n', ' \n', '\t\r\n', '\u3000\n', ' \r\n '];
const PRE_DIGITS = ['0', '7', '42', '1234', '9876543210', '１２', '٣٤', '१२', '๓', '²', '½', 'Ⅻ', '①', '𝟘𝟙', '3.14',
                    '1,000', '+1', '-2', '10%'];
const PRE_POOLS = [PRE_LETTERS, PRE_LETTERS, PRE_PUNCT, PRE_CJK, PRE_WS, PRE_NL, PRE_DIGITS];
const PRE_SNIPPETS = [
  '中\u3000文', '中\u2003文', '한\u1680국', '中\u205f文\u202f字', '一\u2028丁', '가\u2029나', 'a\u3000。', '。\u3000。',
  '、。\u3000、', '！\u3000？', 'Hello, world!\r\n', 'line one  \r\nline two\t\n', 'trailing  ', 'trailing\u3000',
  'trailing \u00a0 ', 'x\r\n\r\ny', '\r\n', '\n\r', ' \r', '1  2', '1  2 ', '😀  ', '\u00a0abc', ' \u00a0abc',
  'Ω \u2126 K \u212a', 'ώ \u1f7d ι \u1fbe \u1fd3\u1fdb', 'aʔb ʖc', '×÷', 'ǅemal ＡＢＣ ｄｅｆ',
  'Привет, мир! Γειά σου Κόσμε· Ողջույն', '“quoted” ‘single’ „low“ ‟rev”', 'ﬁne ﬀ ﬓ', '𐐀𐐁 𐓘 𞤀𞤁',
  'x１２３y ٣٤٥ १२३ ²³ ½ Ⅻ', 'abc123def 456 ghi７８９', '中文abc中文', '中文１２３', 'カタカナとひらがな、漢字。',
  '안녕하세요\u3000세계', 'def f(x):\r\n  return 10\r\n', '¿Qué? ¡Sí! a +b $c', 'nai\u0308ve e\u0301t\u0301',
  '\t\t\n\t', ' \t \u3000 \n ',
];

function caseVariants(s) {
  const out = [];
  for (let m = 0; m < 1 << s.length; m++)
    out.push([...s].map((c, i) => ((m >> i) & 1 ? c.toUpperCase() : c)).join(''));
  return out;
}

export function makeCorpus({seed = 20250101, specials = [...DS_SPECIALS, ...QWEN_SPECIALS]} = {}) {
  const r = rng(seed);
  const items = [];
  const add = (kind, text) => items.push({kind, text});
  const table = categoryTable();
  const safeCps = [];
  for (const c of CATEGORIES) if (c !== 'Cn') for (const cp of table[c]) safeCps.push(cp);
  const randChar = () => String.fromCodePoint(r.pick(safeCps));
  const ascii = () => String.fromCharCode(r.int(32, 126));
  const word = () => r.pick(WORDS);

  // 1. Every general category, alone, in runs and between words.
  for (const c of CATEGORIES) {
    const cps = table[c];
    for (let i = 0; i < 60; i++) {
      const n = r.int(1, 4);
      let run = '';
      for (let k = 0; k < n; k++) run += String.fromCodePoint(r.pick(cps));
      const shape = i % 4;
      add(`gc:${c}`, shape === 0 ? run : shape === 1 ? `${word()} ${run} ${word()}` : shape === 2 ? `${run}${word()}${run}` : `1${run}2 ${run}\n`);
    }
  }
  // 2. CJK and kana runs (inside and outside the DeepSeek CJK class).
  const cjkRanges = [[0x4e00, 0x9fa5], [0x9fa6, 0x9fff], [0x3040, 0x309f], [0x30a0, 0x30ff], [0xff66, 0xff9d],
                     [0xac00, 0xd7a3], [0x3400, 0x4dbf], [0x20000, 0x2a6df], [0x3000, 0x303f], [0xff01, 0xff5e]];
  for (let i = 0; i < 400; i++) {
    let s = '';
    const parts = r.int(1, 5);
    for (let p = 0; p < parts; p++) {
      const [lo, hi] = r.pick(cjkRanges);
      const n = r.int(1, 12);
      for (let k = 0; k < n; k++) {
        const cp = r.int(lo, hi);
        if (!isExcluded(cp)) s += S(cp);
      }
      if (r.next() < 0.5) s += r.pick([' ', '', '1', '23', 'abc', '。', '、', '\n', 'ー', '〜']);
    }
    add('cjk', s);
  }
  // 3. Emoji: ZWJ sequences, skin tones, flags, keycaps, variation selectors.
  for (let i = 0; i < 250; i++) {
    let s = '';
    for (let k = r.int(1, 6); k > 0; k--) s += r.pick(EMOJI) + (r.next() < 0.3 ? r.pick([' ', '', 'a', '!', '\u200d']) : '');
    if (r.next() < 0.3) s = `${word()} ${s} ${word()}`;
    add('emoji', s);
  }
  // 4. Combining marks: random bases followed by 1-4 marks in random order.
  const marks = [...table.Mn.filter((c) => c < 0x3000), ...table.Mc.slice(0, 200), ...table.Me];
  for (let i = 0; i < 400; i++) {
    let s = '';
    for (let k = r.int(1, 5); k > 0; k--) {
      s += r.pick(['a', 'e', 'o', 'A', 'n', 'd', 'ᄀ', 'ᅡ', 'क', 'ก', 'α', 'ω', 'u', 'Å', 'ệ', '1', ' ', 'ı']);
      for (let m = r.int(0, 4); m > 0; m--) s += S(r.pick(marks));
    }
    add('marks', s);
  }
  // 5. Scripts: fixed snippets and random mixes of them.
  for (const s of SCRIPT_SNIPPETS) add('script', s);
  for (let i = 0; i < 250; i++) {
    const a = r.pick(SCRIPT_SNIPPETS), b = r.pick(SCRIPT_SNIPPETS);
    const cut = (x) => [...x].slice(r.int(0, 5), r.int(6, 60)).join('');
    add('script', cut(a) + r.pick([' ', '\n', '', ', ', '1']) + cut(b));
  }
  // 6. Digit runs of every length 1..48, alone and in context; other digit scripts.
  for (let n = 1; n <= 48; n++) {
    let d = '';
    for (let k = 0; k < n; k++) d += String(r.int(0, 9));
    add('digits', d);
    add('digits', `x${d}y`);
    add('digits', ` ${d} `);
    add('digits', `${d}.${d.slice(0, 3)}`);
    add('digits', `abc${d}中文${d}`);
  }
  for (const z of [0x660, 0x966, 0xe50, 0xff10, 0x1d7ce, 0x6f0, 0x9e6]) {
    for (let n = 1; n <= 8; n++) {
      let d = '';
      for (let k = 0; k < n; k++) d += S(z + r.int(0, 9));
      add('digits', d);
    }
  }
  // 7. Numbers with separators.
  for (const s of NUMBERS) add('numbers', s);
  for (let i = 0; i < 200; i++) add('numbers', `${r.pick(NUMBERS)}${r.pick([' ', '', ', ', ' + ', '/'])}${r.pick(NUMBERS)}`);
  // 8. Whitespace kinds and runs, including leading and trailing.
  for (const w of WS) {
    for (let n = 1; n <= 6; n++) {
      const run = w.repeat(n);
      add('ws', run);
      add('ws', `a${run}b`);
      add('ws', `${run}word`);
      add('ws', `word${run}`);
      add('ws', `x${run}\n`);
      add('ws', `.${run}1`);
    }
  }
  for (let i = 0; i < 300; i++) {
    let s = '';
    for (let k = r.int(1, 8); k > 0; k--) s += r.next() < 0.5 ? r.pick(WS).repeat(r.int(1, 4)) : r.pick([word(), '!', '1', '中', '.', '\u0301', '😀']);
    add('ws', s);
  }
  // 9-11. Code, LaTeX, URLs (whole, cut, re-indented).
  for (const c of [...CODE, ...LATEX, ...URLS]) add('code', c);
  for (let i = 0; i < 400; i++) {
    const src = r.pick([...CODE, ...CODE, ...LATEX, ...URLS]);
    const a = r.int(0, src.length - 1);
    let s = src.slice(a, a + r.int(1, 120));
    if (r.next() < 0.3) s = s.replace(/\n/g, r.pick(['\n  ', '\n\t', '\r\n', '\n\n']));
    add('code', s);
  }
  // 12. Contractions in every letter case, with straight and curly apostrophes.
  for (const c of CONTRACTIONS) {
    for (const v of caseVariants(c)) {
      for (const pre of ["DON", "don", "I", "we", "They", "it", " ", "", "1", "x'"]) {
        add('contraction', `${pre}'${v}`);
        add('contraction', `${pre}'${v} x`);
      }
      add('contraction', `it’${v}`);
      add('contraction', `''${v}'${v}`);
    }
  }
  add('contraction', "DON'T 'Ll I'M WE'RE THEY'VE HE'D SHE'LL it'S 'ſ");
  // 13. Special tokens embedded in text, adjacent, and near misses.
  for (let i = 0; i < 500; i++) {
    let s = '';
    for (let k = r.int(1, 6); k > 0; k--) {
      const x = r.next();
      s += x < 0.4 ? r.pick(specials) : x < 0.55 ? r.pick(NEAR_SPECIALS) : x < 0.8 ? word() : r.pick([' ', '\n', '', '1', '中文', '😀', ' \n ']);
    }
    add('special', s);
  }
  // 14. Long random valid UTF-8.
  for (let i = 0; i < 300; i++) {
    const n = r.int(50, 1500);
    let s = '';
    const mode = i % 3;
    for (let k = 0; k < n; k++) {
      s += mode === 0 ? randChar() : mode === 1 ? (r.next() < 0.8 ? ascii() : randChar()) : r.pick([ascii(), ascii(), ' ', randChar(), word() + ' ', r.pick(WS)]);
    }
    add('long', s);
  }
  // 15. Random mixtures of everything above.
  const pools = [WORDS, SCRIPT_SNIPPETS, CODE, LATEX, URLS, EMOJI, WS, NUMBERS, specials, NEAR_SPECIALS];
  for (let i = 0; i < 1200; i++) {
    let s = '';
    for (let k = r.int(1, 10); k > 0; k--) s += r.pick(r.pick(pools)) + (r.next() < 0.5 ? ' ' : '');
    if (r.next() < 0.2) s += randChar() + randChar();
    add('mix', s);
  }
  // 16. Raw bytes, mostly invalid UTF-8 (r1 replaces maximal invalid subparts by U+FFFD).
  const enc = new TextEncoder();
  for (let i = 0; i < 200; i++) {
    let bytes;
    if (i % 2 === 0) {
      bytes = Array.from({length: r.int(1, 40)}, () => r.int(0, 255));
    } else {
      bytes = [...enc.encode(r.pick(SCRIPT_SNIPPETS) + r.pick(EMOJI))];
      for (let k = r.int(1, 4); k > 0; k--) {
        const at = r.int(0, bytes.length);
        if (r.next() < 0.5) bytes.splice(at, 1);  // cut a character
        else bytes.splice(at, 0, r.pick([0x80, 0xbf, 0xc0, 0xc3, 0xe2, 0xed, 0xf0, 0xf4, 0xf5, 0xff]));
      }
    }
    items.push({kind: 'bytes', bytes});
  }
  // 17. What the DeepSeek LLM / Coder pre-tokenizers look at (own PRNG, so the
  // sections above stay as they were): the cased-letter class and letters just
  // outside it, ASCII and fullwidth punctuation, quotes, U+3000..U+3002, white
  // space inside the CJK range U+0800..U+4E00, white space at the end and before
  // CR/LF, CR/LF mixes, digits of several scripts.
  const q = rng(seed ^ 0x5eed);
  for (const s of PRE_SNIPPETS) add('pre', s);
  for (let i = 0; i < 600; i++) {
    let s = '';
    for (let k = q.int(1, 8); k > 0; k--) s += q.pick(q.pick(PRE_POOLS));
    add('pre', s);
  }
  return items;
}
