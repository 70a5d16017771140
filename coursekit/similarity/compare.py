"""Fingerprints of every unit and the score of every pair of sources on it.

Fingerprints are copydetect's, step by step: its `filter_code` tokenises the text with pygments,
drops whitespace and comments, abstracts every identifier to one letter (V, F, O) and every
string to S; the k-grams of that text are hashed (Karp-Rabin, the same in every process and run,
where copydetect's own hash() is salted per process) and copydetect's `winnow` keeps the
smallest hash of each window of `window` (the MOSS algorithm); its `compare_files` and
`highlight_overlap` mark the matched regions for the report. So whitespace, comments and
renamed variables change nothing; and since every unit is compared on its own, neither does
the order of the functions in a file.

Two kinds of fingerprint are left out before anything is compared:

- boilerplate: every fingerprint of the release (the student modules with their stubs and given
  code, every code cell of the release notebooks), so starter code never counts;
- common: a fingerprint that more than `common_fraction` of the submissions writing the unit
  hold (and at least 3 of them). What most of the class writes alike is the one natural way to
  write it (`np.maximum(0, x)`), not evidence of copying (MOSS's `-m` option).

Scores, for a unit held by two sources A and B, with `n_A`, `n_B` their fingerprints left:

    similarity = shared / min(n_A, n_B)
    weight     = min(1, min(n_A, n_B) / min_fingerprints)
    score      = similarity * weight

`min` makes a copy with code added around it still count as a copy. The weight is the short
function rule: a function whose correct solution is short (`relu_forward`: a line or two, no
more than a few fingerprints) is nearly the same for everyone who gets it right, so matching it
is weak evidence; its score is scaled down by how far it falls short of `min_fingerprints`
(a copied 40-line function keeps its full score). A unit is flagged at `score >= threshold`; a
pair of sources is reported when one of its units is flagged, ranked by its evidence: the sum
of the scores of its flagged units.
"""
import functools
import re
from dataclasses import dataclass, field
from types import SimpleNamespace

import numpy as np

FILE_NAME = "unit.py"  # the name copydetect's filter_code is given (its logs name it)


@dataclass(frozen=True)
class Settings:
    """The knobs of the comparison (course.toml's [similarity] table; docs/similarity.md)."""

    threshold: float = 0.6
    min_fingerprints: int = 12
    common_fraction: float = 0.2
    # k-gram length (copydetect's noise threshold) and winnowing window, in normalised tokens
    # (characters of the filtered text): copydetect's defaults are 25 and 6; units are single
    # functions, so k is a little shorter to see the copied lines of a short one.
    k: int = 20
    window: int = 6

    def check(self):
        """A ValueError naming the setting that is out of range, else self."""
        problems = []
        if not 0 < self.threshold <= 1:
            problems.append(f"threshold {self.threshold} (between 0 and 1, e.g. 0.6)")
        if self.min_fingerprints < 1:
            problems.append(f"min_fingerprints {self.min_fingerprints} (at least 1)")
        if not 0 < self.common_fraction <= 1:
            problems.append(f"common_fraction {self.common_fraction} (between 0 and 1)")
        if self.k < 2 or self.window < 1:
            problems.append(f"k {self.k} / window {self.window} (k >= 2, window >= 1)")
        if problems:
            raise ValueError("similarity settings out of range: " + "; ".join(problems))
        return self


# Whole-line comments: copydetect drops comments and whitespace, so a text without them has the
# same normalised form and fingerprints; cut before tokenising, they save a third of its time
# (the TODO blocks of the starter code are long).
_COMMENT_LINES = re.compile(r"^[ \t]*#.*\n?", re.MULTILINE)


_BASE = np.uint64(1_000_003)  # odd: a polynomial (Karp-Rabin) hash modulo 2**64


def _kgram_hashes(filtered, k):
    """Karp-Rabin hashes (as in the winnowing paper) of the k-grams of a normalised text, as
    int64. copydetect hashes them with Python's hash(), which is salted anew in every process:
    the same class would be fingerprinted differently on every run and in every worker. These
    are the same everywhere, and computed in one vectorised step."""
    codes = np.frombuffer(filtered.encode("utf-32-le"), dtype=np.uint32).astype(np.uint64)
    if len(codes) < k:
        return np.zeros(0, dtype=np.int64)
    powers = _BASE ** np.arange(k - 1, -1, -1, dtype=np.uint64)  # wraps modulo 2**64
    windows = np.lib.stride_tricks.sliding_window_view(codes, k)
    return (windows * powers).sum(axis=1, dtype=np.uint64).view(np.int64)


@functools.lru_cache(maxsize=4096)  # a report shows one source's text in many pairs
def code_fingerprint(text, settings):
    """The fingerprint of a Python text as copydetect's compare_files reads it: copydetect's
    normalisation (filter_code) and winnowing (winnow), our stable k-gram hash; read only."""
    from copydetect.utils import filter_code, winnow

    filtered, offsets = filter_code(text, FILE_NAME, "python")
    hashes = _kgram_hashes(filtered, settings.k)
    hash_idx = {}
    if len(hashes):
        selected, where = winnow(hashes, settings.window, remove_duplicates=False)
        for h, i in zip(selected.tolist(), where.tolist(), strict=True):
            hash_idx.setdefault(h, []).append(i)
    # token_coverage: compare_files divides by it for a ratio of its own, which is not used.
    return SimpleNamespace(k=settings.k, hashes=set(hash_idx), hash_idx=hash_idx,
                           filtered_code=filtered, offsets=offsets,
                           token_coverage=max(1, len(filtered)))


def hashes_of(text, settings):
    return set(code_fingerprint.__wrapped__(_COMMENT_LINES.sub("", text), settings).hashes)


def boilerplate_hashes(texts, settings):
    found = set()
    for text in texts:
        found |= hashes_of(text, settings)
    return found


@dataclass
class UnitMatch:
    """Sources `a` and `b` on one unit: their best-matching texts and the score."""

    unit: str
    score: float
    similarity: float
    shared: int
    counts: tuple  # fingerprints of a's and b's text, boilerplate and common left out
    texts: tuple  # (index into a's texts, into b's)

    @property
    def weight(self):
        return self.score / self.similarity if self.similarity else 0.0


@dataclass
class PairMatch:
    a: str
    b: str
    units: dict = field(default_factory=dict)  # unit key -> UnitMatch

    def flagged(self, threshold):
        return sorted((m for m in self.units.values() if m.score >= threshold),
                      key=lambda m: -m.score)

    def evidence(self, threshold):
        return sum(m.score for m in self.flagged(threshold))


@dataclass
class Comparison:
    """Everything the report needs: the settings, the per-unit hashes left out, the pairs."""

    settings: Settings
    sources: list
    pairs: dict  # (a, b) -> PairMatch
    left_out: dict  # unit key -> set of hashes (boilerplate and common)

    def reported(self):
        """Pairs with a flagged unit, best evidence first."""
        t = self.settings.threshold
        found = [p for p in self.pairs.values() if p.flagged(t)]
        return sorted(found, key=lambda p: (-p.evidence(t), -len(p.flagged(t)), p.a, p.b))


def _source_hashes(texts, settings):
    """{unit key: [hash set per text]} of one source's texts."""
    return {key: [hashes_of(text, settings) for text in found] for key, found in texts.items()}


def fingerprint_sources(sources, settings, jobs=1):
    """[{unit key: [hash set per text]}] for each source, in `jobs` processes."""
    if jobs <= 1 or len(sources) < 50:
        return [_source_hashes(s.texts, settings) for s in sources]
    import multiprocessing
    from concurrent.futures import ProcessPoolExecutor
    from functools import partial

    with ProcessPoolExecutor(jobs, mp_context=multiprocessing.get_context("fork")) as pool:
        return list(pool.map(partial(_source_hashes, settings=settings),
                             [s.texts for s in sources], chunksize=8))


def _unit_docs(prints, key, boilerplate):
    """[(source index, text index, hash set)] of one unit over all sources."""
    docs = []
    for s, found in enumerate(prints):
        for t, hashes in enumerate(found.get(key, ())):
            hashes = hashes - boilerplate
            if hashes:
                docs.append((s, t, hashes))
    return docs


def common_hashes(docs, sources, settings):
    """The hashes that more than `common_fraction` of the submissions writing the unit hold
    (and at least 3 of them); references do not count."""
    holders = {}
    for s, _, hashes in docs:
        if not sources[s].reference:
            for h in hashes:
                holders.setdefault(h, set()).add(s)
    writers = {s for s, _, _ in docs if not sources[s].reference}
    limit = max(2, settings.common_fraction * len(writers))
    return {h for h, who in holders.items() if len(who) > limit}


def compare_unit(key, docs, sources, settings, floor):
    """{(a, b): UnitMatch} of the pairs of sources scoring at least `floor` on unit `key`."""
    from scipy import sparse

    columns = {}
    rows, cols = [], []
    for i, (_, _, hashes) in enumerate(docs):
        for h in hashes:
            rows.append(i)
            cols.append(columns.setdefault(h, len(columns)))
    if not rows:
        return {}
    matrix = sparse.csr_matrix((np.ones(len(rows), dtype=np.int32), (rows, cols)),
                               shape=(len(docs), len(columns)))
    counts = np.asarray(matrix.sum(axis=1)).ravel()
    shared = sparse.triu(matrix @ matrix.T, k=1).tocoo()
    smaller = np.minimum(counts[shared.row], counts[shared.col])
    similarity = shared.data / smaller
    score = similarity * np.minimum(1.0, smaller / settings.min_fingerprints)
    found = {}
    keep = score >= floor  # most pairs share little: leave them out before the Python loop
    for i, j, n, sim, sc in zip(shared.row[keep], shared.col[keep], shared.data[keep],
                                similarity[keep], score[keep], strict=True):
        (sa, ta, _), (sb, tb, _) = docs[i], docs[j]
        if sa == sb or (sources[sa].reference and sources[sb].reference):
            continue
        if sources[sa].name > sources[sb].name:
            sa, ta, sb, tb, i, j = sb, tb, sa, ta, j, i
        pair = (sources[sa].name, sources[sb].name)
        if pair in found and found[pair].score >= sc:
            continue
        found[pair] = UnitMatch(key, float(sc), float(sim), int(n),
                                (int(counts[i]), int(counts[j])), (ta, tb))
    return found


def compare(sources, assignment, settings, jobs=1):
    """The Comparison of all sources (units.Source) on every unit of the assignment
    (fingerprinted in `jobs` processes)."""
    settings.check()
    boilerplate = boilerplate_hashes(assignment.boilerplate, settings)
    prints = fingerprint_sources(sources, settings, jobs)
    # Units are listed below the threshold too (down to half of it) on a reported pair's page.
    floor = settings.threshold / 2
    pairs, left_out = {}, {}
    for unit in assignment.units:
        docs = _unit_docs(prints, unit.key, boilerplate)
        common = common_hashes(docs, sources, settings)
        left_out[unit.key] = boilerplate | common
        docs = [(s, t, hashes - common) for s, t, hashes in docs if hashes - common]
        for pair, match in compare_unit(unit.key, docs, sources, settings, floor).items():
            pairs.setdefault(pair, PairMatch(*pair)).units[unit.key] = match
    return Comparison(settings, sources, pairs, left_out)


def highlighted(text_a, text_b, left_out, settings):
    """The two texts as HTML with the matched fingerprint regions in <mark>, copydetect's
    compare_files and highlight_overlap on the fingerprints left after `left_out`."""
    from copydetect import compare_files
    from copydetect.utils import highlight_overlap
    from markupsafe import escape

    prints = []
    for text in (text_a, text_b):
        fp = code_fingerprint(text, settings)
        kept = {h: i for h, i in fp.hash_idx.items() if h not in left_out}
        prints.append(SimpleNamespace(k=fp.k, hashes=set(kept), hash_idx=kept,
                                      filtered_code=fp.filtered_code, offsets=fp.offsets,
                                      token_coverage=fp.token_coverage))
    _, _, slices = compare_files(*prints)
    out = []
    for text, cut in zip((text_a, text_b), slices, strict=True):
        if len(cut) == 0 or cut.shape[-1] == 0:
            out.append(str(escape(text)))
            continue
        marked, _ = highlight_overlap(text, cut, "<mark>", "</mark>", escape_html=True)
        out.append(marked)
    return out
