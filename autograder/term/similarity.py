"""How alike two submissions' answers are: normalised tokens, k-gram fingerprints, winnowing.

The comparison sees only what the student wrote:

1. **The stub's own code is removed.** Every token on a line that also appears in the topic's stub
   (``exercises/<topic>.py``: signatures, docstrings, imports, ``raise NotImplementedError``) is
   dropped, so two blank submissions, or two that kept the same docstrings, share nothing.
2. **Tokens are normalised** with :mod:`tokenize`: every local name becomes ``V`` (keywords,
   builtins and attribute names after a ``.`` such as ``np.exp`` stay), every number ``N``, every
   string ``S``; comments and blank lines are gone. Renaming variables changes nothing.
3. **Each top-level statement is fingerprinted on its own** (functions, and methods inside classes,
   found with :mod:`ast`), so reordering functions changes nothing either.
4. **Winnowing** (Schleimer, Wilkerson and Aiken, SIGMOD 2003, the algorithm of MOSS): hashes of
   every run of ``k`` tokens; in each window of ``w`` consecutive hashes the smallest is kept. Any
   run of at least ``w + k - 1`` tokens shared by two submissions shares a fingerprint.
5. **Common code is discounted**: a fingerprint found in more than half of a topic's submissions
   (and at least 5 of them) is what everyone writes, not a copy, and is ignored.

The score of a pair is the Jaccard index of their fingerprint sets (shared over all), 0 to 1.
Similarity never changes a score: it is a list for an instructor to read.

>>> stub = "def f(x):\\n    raise NotImplementedError\\n"
>>> a = fingerprint("def f(x):\\n    total = 0\\n    for item in x:\\n        total += item * item\\n    return total\\n", stub)
>>> b = fingerprint("def f(x):\\n    acc = 0\\n    for v in x:\\n        acc += v * v  # mine\\n    return acc\\n", stub)
>>> similarity(a, b)
1.0
>>> fingerprint(stub, stub).hashes
{}
"""

from __future__ import annotations

import ast
import bisect
import builtins
import hashlib
import io
import keyword
import re
import tokenize
from dataclasses import dataclass, field
from itertools import combinations

__all__ = ["K", "WINDOW", "Fingerprint", "Pair", "fingerprint", "similarity", "compare_all", "normalised_tokens"]

K = 5  # tokens per k-gram
WINDOW = 4  # k-grams per winnowing window: a shared run of WINDOW + K - 1 = 8 tokens is always seen
COMMON_SHARE = 0.5  # a fingerprint in more than this share of a topic's submissions is ignored...
COMMON_MIN = 5  # ...when that is also more than this many submissions
_BUILTINS = frozenset(dir(builtins))


@dataclass
class Fingerprint:
    """The winnowed fingerprints of one module: ``hash -> [(first line, last line), ...]``."""

    hashes: dict[int, list[tuple[int, int]]] = field(default_factory=dict)

    def lines(self, keep: set[int]) -> set[int]:
        """The source lines (1-based) covered by the fingerprints in ``keep``."""
        out: set[int] = set()
        for h in keep:
            for first, last in self.hashes.get(h, ()):
                out.update(range(first, last + 1))
        return out


@dataclass(frozen=True)
class Pair:
    topic: str
    a: str
    b: str
    score: float
    shared: frozenset = frozenset()  # the fingerprints the two share (for highlighting)


def _norm_line(line: str) -> str:
    return " ".join(line.split())


def normalised_tokens(source: str, stub: str = "") -> list[tuple[str, int, int]]:
    """``(token, first line, last line)`` of ``source`` with the stub's lines dropped, normalised.

    >>> [t for t, _, _ in normalised_tokens("y = np.exp(x) + 1  # c\\n")]
    ['V', '=', 'V', '.', 'exp', '(', 'V', ')', '+', 'N', 'NEWLINE']
    """
    stub_lines = {_norm_line(ln) for ln in stub.splitlines()} - {""}
    lines = source.splitlines()
    out: list[tuple[str, int, int]] = []
    previous = ""
    fstring = 0
    try:
        for tok in tokenize.generate_tokens(io.StringIO(source).readline):
            kind = tokenize.tok_name.get(tok.type, "")
            if kind in ("FSTRING_START", "TSTRING_START"):  # Python 3.12+: an f-string is many tokens
                fstring += 1
                if fstring == 1:
                    start = tok.start[0]
                continue
            if fstring:
                if kind in ("FSTRING_END", "TSTRING_END"):
                    fstring -= 1
                    if not fstring:
                        _add(out, "S", start, tok.end[0], lines, stub_lines)
                continue
            if tok.type in (tokenize.COMMENT, tokenize.NL, tokenize.ENCODING, tokenize.ENDMARKER):
                continue
            if tok.type == tokenize.NAME:
                text = tok.string if keyword.iskeyword(tok.string) or tok.string in _BUILTINS or previous == "." else "V"
            elif tok.type == tokenize.NUMBER:
                text = "N"
            elif tok.type == tokenize.STRING:
                text = "S"
            elif tok.type in (tokenize.NEWLINE, tokenize.INDENT, tokenize.DEDENT):
                text = tokenize.tok_name[tok.type]
            else:
                text = tok.string
            previous = tok.string
            _add(out, text, tok.start[0], tok.end[0], lines, stub_lines)
    except (tokenize.TokenError, IndentationError, SyntaxError):
        # Code that does not tokenize (a syntax error) is still compared, word by word, as far as it got.
        seen = {line for _, line, _ in out}
        for row, line in enumerate(lines, 1):
            if row not in seen and _norm_line(line) not in stub_lines:
                out += [(_word(w), row, row) for w in re.findall(r"\w+|[^\w\s]", line)]
    return out


def _word(w: str) -> str:
    """A word of code that did not tokenize, normalised like a token."""
    if w[:1].isdigit():
        return "N"
    return "V" if w.isidentifier() and not keyword.iskeyword(w) and w not in _BUILTINS else w


def _add(out: list, text: str, first: int, last: int, lines: list[str], stub_lines: set[str]) -> None:
    line = lines[first - 1] if 0 < first <= len(lines) else ""
    if _norm_line(line) not in stub_lines:
        out.append((text, first, last))


def _groups(source: str, tokens: list[tuple[str, int, int]]) -> list[list[tuple[str, int, int]]]:
    """The tokens split by top-level statement (class bodies by method), in source order."""
    starts: list[int] = []
    try:
        for node in ast.parse(source).body:
            starts.append(_first_line(node))
            if isinstance(node, ast.ClassDef):
                starts += [_first_line(n) for n in node.body]
    except (SyntaxError, ValueError, RecursionError, MemoryError):
        starts = []
    starts = sorted(set(starts))
    groups: dict[int, list] = {}
    for tok in tokens:
        groups.setdefault(bisect.bisect_right(starts, tok[1]), []).append(tok)
    return [groups[i] for i in sorted(groups)]


def _first_line(node: ast.stmt) -> int:
    return min([node.lineno, *(d.lineno for d in getattr(node, "decorator_list", []))])


def _hash(gram: list[str]) -> int:
    return int.from_bytes(hashlib.blake2b("\x1f".join(gram).encode(), digest_size=8).digest(), "big")


def fingerprint(source: str, stub: str = "", *, k: int = K, window: int = WINDOW) -> Fingerprint:
    """The winnowed fingerprints of ``source`` (stub lines removed, tokens normalised)."""
    tokens = normalised_tokens(source, stub)
    result = Fingerprint()
    for group in _groups(source, tokens):
        words = [t for t, _, _ in group]
        if not any(w not in ("NEWLINE", "INDENT", "DEDENT") for w in words):
            continue
        n = max(1, len(words) - k + 1)
        grams = [(_hash(words[i : i + k]), group[i][1], group[min(i + k, len(group)) - 1][2]) for i in range(n)]
        chosen: set[int] = set()
        for start in range(max(1, len(grams) - window + 1)):
            win = grams[start : start + window]
            low = min(h for h, _, _ in win)
            chosen.add(start + max(i for i, (h, _, _) in enumerate(win) if h == low))  # rightmost minimum
        for i in sorted(chosen):
            h, first, last = grams[i]
            result.hashes.setdefault(h, []).append((first, last))
    return result


def similarity(a: Fingerprint, b: Fingerprint, ignore: frozenset | set = frozenset()) -> float:
    """Jaccard index of the two fingerprint sets, leaving out ``ignore`` (0 when either is empty)."""
    sa, sb = set(a.hashes) - ignore, set(b.hashes) - ignore
    if not sa or not sb:
        return 0.0
    return len(sa & sb) / len(sa | sb)


def compare_all(topic: str, prints: dict[str, Fingerprint]) -> list[Pair]:
    """Every pair of submissions with something in common, highest score first (then by name).

    Fingerprints shared by more than half of the submissions (and more than ``COMMON_MIN``) are the
    class's common code and are ignored.
    """
    counts: dict[int, int] = {}
    for fp in prints.values():
        for h in fp.hashes:
            counts[h] = counts.get(h, 0) + 1
    limit = max(COMMON_MIN, COMMON_SHARE * len(prints))
    common = frozenset(h for h, n in counts.items() if n > limit)
    pairs = []
    for a, b in combinations(sorted(prints), 2):
        score = similarity(prints[a], prints[b], common)
        if score > 0:
            shared = frozenset((set(prints[a].hashes) & set(prints[b].hashes)) - common)
            pairs.append(Pair(topic, a, b, round(score, 4), shared))
    pairs.sort(key=lambda p: (-p.score, p.a, p.b))
    return pairs
