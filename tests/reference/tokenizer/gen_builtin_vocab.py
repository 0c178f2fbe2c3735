#!/usr/bin/env python3
"""Learns the merges of r1::builtin_byte_vocab() and prints them as C++.

Byte-level BPE training (most frequent adjacent pair first; ties broken by the
smaller pair, so the output is deterministic) on English text: the GPL-3 and
Apache-2.0 licence texts that Debian ships in /usr/share/common-licenses, plus
the short reasoning-style paragraphs below (weighted x8, so that words such as
"answer", "step", "boxed" and "think" get tokens). The pre-tokenizer is the
qwen2 / deepseek-r1-qwen regex restricted to ASCII (both sources are ASCII).
Run:
    python3 tests/reference/tokenizer/gen_builtin_vocab.py > /tmp/merges.inc
and paste the list into src/tokenizer/builtin_vocab.cpp.
"""
import collections
import re
import sys

N_MERGES = 400

REASONING = """
Let me think about this step by step. First, we need to find the value of x.
If we add the two numbers together, the sum is 12, and the difference is 4.
So the larger number is 8 and the smaller number is 4. Let me check: 8 + 4 = 12
and 8 - 4 = 4. That is correct, so the answer is \\boxed{8}.
Wait, the question asks for the product of the numbers, not the larger one.
The product is 8 * 4 = 32. Therefore, the final answer is \\boxed{32}.
Please reason step by step, and put your final answer within \\boxed{}.
We know that the area of a circle is pi times the radius squared. The radius
is half of the diameter, which is 10, so the radius is 5 and the area is 25 pi.
Hmm, I should double check whether the problem wants an exact value or an
approximation. It says exact, so the answer is 25 pi. Now consider the
equation 3x + 5 = 20. Subtracting 5 from both sides gives 3x = 15, and dividing
by 3 gives x = 5. The user asked a question; the assistant should think first,
then answer clearly. Okay, so the total number of apples is the number of
boxes times the number of apples in each box, which is 7 times 6, that is 42.
"""


def pieces(text):
    pat = re.compile(r"(?:'[sS]|'[tT]|'[rR][eE]|'[vV][eE]|'[mM]|'[lL][lL]|'[dD])|[^\r\nA-Za-z0-9]?[A-Za-z]+|[0-9]"
                     r"| ?[^\sA-Za-z0-9]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+")
    return pat.findall(text)


def byte_char(b):
    printable = (ord('!') <= b <= ord('~')) or (0xA1 <= b <= 0xAC) or b >= 0xAE
    if printable:
        return chr(b)
    n = 0
    for c in range(b):
        if not ((ord('!') <= c <= ord('~')) or (0xA1 <= c <= 0xAC) or c >= 0xAE):
            n += 1
    return chr(256 + n)


def main():
    text = ''
    for p in ('/usr/share/common-licenses/GPL-3', '/usr/share/common-licenses/Apache-2.0'):
        text += open(p, encoding='ascii').read() + '\n'
    text += REASONING * 8
    words = collections.Counter(tuple(byte_char(b) for b in w.encode()) for w in pieces(text))
    merges = []
    for _ in range(N_MERGES):
        pairs = collections.Counter()
        for w, c in words.items():
            for a, b in zip(w, w[1:]):
                pairs[(a, b)] += c
        if not pairs:
            break
        best = min(pairs.items(), key=lambda kv: (-kv[1], kv[0]))[0]
        merges.append(best)
        nw = collections.Counter()
        for w, c in words.items():
            out, i = [], 0
            while i < len(w):
                if i + 1 < len(w) and (w[i], w[i + 1]) == best:
                    out.append(w[i] + w[i + 1])
                    i += 2
                else:
                    out.append(w[i])
                    i += 1
            nw[tuple(out)] += c
        words = nw
    items = ['"%s %s",' % (a.replace('\\', '\\\\').replace('"', '\\"'), b.replace('\\', '\\\\').replace('"', '\\"'))
             for a, b in merges]
    line = '   '
    for it in items:
        if len(line) + 1 + len(it) > 110:
            sys.stdout.write(line + '\n')
            line = '   '
        line += ' ' + it
    sys.stdout.write(line + '\n')


if __name__ == '__main__':
    main()
