// GBNF grammars for the grammar fidelity test (grammar.test.mjs): each exercises a part of
// the syntax or of the matcher (partial UTF-8, repetition bounds, recursion, negated classes,
// alternation through nullable rules). Written for this project; the eight grammars shipped
// in node-llama-cpp's llama/grammars/ are added by the test itself.
export const GRAMMARS = {
  "literal": String.raw`root ::= "hello world"`,
  "literal-escapes": String.raw`root ::= "tab\there\nnewline \"quoted\" back\\slash \x41\u00e9\U0001F600"`,
  "alternatives": String.raw`root ::= "yes" | "no" | "maybe"`,
  "class-lower": String.raw`root ::= [a-z]+`,
  "class-negated": String.raw`root ::= [^aeiou \n]{3,20}`,
  "class-escapes": String.raw`root ::= [\[\]\\\-^]+ "."`,
  "any-char": String.raw`root ::= . . . "!"`,
  "any-then-stop": String.raw`root ::= .{0,12} "END"`,
  "digits-exact": String.raw`root ::= [0-9]{5}`,
  "digits-range": String.raw`root ::= [0-9]{2,6} "/" [0-9]{1,}`,
  "optional": String.raw`root ::= "a"? "b"? "c" [xyz]?`,
  "star-plus": String.raw`root ::= "<" [a-c]* ">" [0-9]+`,
  "nested-groups": String.raw`root ::= (("ab" | "cd")+ ("-" ([0-9] | "x")){1,3})+`,
  "recursion-parens": String.raw`root ::= expr
expr ::= "(" expr* ")" | [a-z]`,
  "right-recursion": String.raw`root ::= item
item ::= [a-z] ("," item)?`,
  "nullable-rules": String.raw`root ::= a b c "!"
a ::= "x"?
b ::= ("y" | "")
c ::= [0-9]*`,
  "comments-multiline": String.raw`# a comment
root ::= # after the operator
  "start" ( # a group continues across lines
    " one" |
    " two"
  )+ # groups span lines`,
  "unicode-classes": String.raw`root ::= [\u4e00-\u9fff]{1,8} [。！]`,
  "unicode-negated": String.raw`root ::= [^\x00-\x7f]+`,
  "emoji": String.raw`root ::= [\U0001F600-\U0001F64F]+ " "?`,
  "accented": String.raw`root ::= ("é" | "ü" | "ñ" | [a-z])+`,
  "words": String.raw`root ::= word (" " word){2,5} "."
word ::= [A-Za-z]{1,10}`,
  "csv": String.raw`root ::= row{2,4}
row ::= field ("," field)* "\n"
field ::= [a-z0-9]*`,
  "key-value": String.raw`root ::= (key "=" value ";")+
key ::= [a-z]+
value ::= [0-9]+ | "\"" [^"]* "\""`,
  "number": String.raw`root ::= "-"? ([0-9] | [1-9] [0-9]+) ("." [0-9]+)? ([eE] [-+]? [0-9]+)?`,
  "boolean-list": String.raw`root ::= "[" (bool ("," bool)*)? "]"
bool ::= "true" | "false"`,
  "ipv4": String.raw`root ::= octet "." octet "." octet "." octet
octet ::= [0-9] | [1-9] [0-9] | "1" [0-9] [0-9] | "2" [0-4] [0-9] | "25" [0-5]`,
  "date": String.raw`root ::= [0-9]{4} "-" ("0" [1-9] | "1" [0-2]) "-" ("0" [1-9] | [12] [0-9] | "3" [01])`,
  "email": String.raw`root ::= [a-z0-9._]+ "@" [a-z0-9]+ ("." [a-z]{2,6})+`,
  "sql": String.raw`root ::= "SELECT " cols " FROM " ident (" WHERE " ident " = " [0-9]+)? ";"
cols ::= "*" | ident (", " ident)*
ident ::= [a-z_] [a-z0-9_]*`,
  "markdown-list": String.raw`root ::= ("- " [^\n]+ "\n"){1,4}`,
  "xml": String.raw`root ::= element
element ::= "<" name ">" (element | [^<>&]*) "</" name ">"
name ::= [a-z]+`,
  "yes-no-reason": String.raw`root ::= ("Yes" | "No") ", because " [a-z ]{5,40} "."`,
  "hex": String.raw`root ::= "0x" [0-9a-fA-F]{2,8}`,
  "uuid": String.raw`root ::= h{8} "-" h{4} "-" h{4} "-" h{4} "-" h{12}
h ::= [0-9a-f]`,
  "arith-nested": String.raw`root ::= expr
expr ::= term (("+" | "-") term)*
term ::= factor (("*" | "/") factor)*
factor ::= [0-9]+ | "(" expr ")"`,
  "repeat-zero": String.raw`root ::= "a" [b]{0} "c"{0,0} "d"`,
  "repeat-open": String.raw`root ::= ("ab"){2,} "!"`,
  "long-literal-alt": String.raw`root ::= "the quick brown fox" | "the quick red fox" | "the lazy dog"`,
  "shared-prefix": String.raw`root ::= "inter" ("national" | "net" | "nal" | "val")`,
  "whitespace-ish": String.raw`root ::= [ \t\n]* "x" [ \t\n]* "y"`,
  "deep-nesting": String.raw`root ::= ((((((("a" | "b"))))))) ((((("c")))))+`,
};
