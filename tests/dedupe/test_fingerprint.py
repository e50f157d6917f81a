from __future__ import annotations

import hashlib
import itertools
import subprocess
import sys

import pytest

from newsarchive.extraction import fingerprint

from .syndication import FIXTURES, entries, manifest


def test_normalise_text_ignores_case_punctuation_and_unicode_variants() -> None:
    a = "“We have to build our cars\u00a0where we can,” said Vogel.\nShort‑time work."
    b = '"we HAVE to build our cars where we can," said Vogel. Short-time work'
    assert fingerprint.normalise_text(a) == fingerprint.normalise_text(b)
    assert (
        fingerprint.normalise_text(a)
        == "we have to build our cars where we can said vogel short time work"
    )


def test_normalise_text_keeps_figures() -> None:
    assert fingerprint.normalise_text("cut 3,200 jobs") != fingerprint.normalise_text(
        "cut 3,400 jobs"
    )


def test_fingerprint_is_deterministic_and_layout_independent() -> None:
    body = (FIXTURES / "wire-original.txt").read_text()
    reflowed = body.replace("\n", "  ").replace("'", "’")
    fp1, fp2 = fingerprint.fingerprint(body), fingerprint.fingerprint(reflowed)
    assert fp1 == fp2
    assert fp1.content_sha256 == fingerprint.content_sha256(body)
    assert len(fp1.minhash) == fingerprint.NUM_PERM * 4


def test_bands_are_numbered_signed_64_bit_keys() -> None:
    fp = fingerprint.fingerprint((FIXTURES / "wire-original.txt").read_text())
    assert [band for band, _ in fp.bands] == list(range(fingerprint.BANDS))
    assert all(-(2**63) <= key < 2**63 for _, key in fp.bands)
    assert len({key for _, key in fp.bands}) == fingerprint.BANDS


def test_short_texts_stay_out_of_the_lsh_index() -> None:
    fp = fingerprint.fingerprint("Nordhaven shares rose 2.8 percent in Frankfurt.")
    assert fp.bands == ()
    assert fingerprint.fingerprint("").bands == ()


def test_similarity_bounds_and_errors() -> None:
    a = fingerprint.fingerprint((FIXTURES / "wire-original.txt").read_text()).minhash
    b = fingerprint.fingerprint((FIXTURES / "indep-local.txt").read_text()).minhash
    assert fingerprint.similarity(a, a) == 1.0
    assert 0.0 <= fingerprint.similarity(a, b) < 0.1
    with pytest.raises(ValueError, match="different lengths"):
        fingerprint.similarity(a, a[:-4])


def test_minhash_estimates_jaccard_of_shingles() -> None:
    """128 permutations: standard error <= 0.045, so 0.15 is more than three of them."""
    texts = [e.body for e in entries()]
    for x, y in itertools.combinations(texts, 2):
        sx, sy = (
            fingerprint.shingles(fingerprint.tokens(x)),
            fingerprint.shingles(fingerprint.tokens(y)),
        )
        exact = len(sx & sy) / len(sx | sy)
        estimate = fingerprint.similarity(
            fingerprint.fingerprint(x).minhash, fingerprint.fingerprint(y).minhash
        )
        assert abs(estimate - exact) < 0.15


def test_every_reworked_copy_scores_above_threshold_and_other_stories_below() -> None:
    items = entries()
    fps = {e.file: fingerprint.fingerprint(e.body) for e in items}
    for e in items:
        if e.story == "kessenich" and e.file != "wire-original.txt":
            assert fingerprint.similarity(
                fps[e.file].minhash, fps["wire-original.txt"].minhash
            ) >= (fingerprint.NEAR_THRESHOLD), e.file
    for x, y in itertools.combinations(items, 2):
        if x.story != y.story:
            assert fingerprint.similarity(fps[x.file].minhash, fps[y.file].minhash) < 0.1, (x, y)


def test_revision_text_ignores_stamps_counters_and_related_links() -> None:
    rev = manifest()["revision"]
    v1, trivial, v2 = (FIXTURES / rev[k] for k in ("v1", "trivial", "v2"))
    assert fingerprint.is_trivial_change(v1.read_text(), trivial.read_text())
    assert not fingerprint.is_trivial_change(v1.read_text(), v2.read_text())
    assert "comments" not in fingerprint.revision_text(v1.read_text())
    assert "related" not in fingerprint.revision_text(v1.read_text())


@pytest.mark.parametrize(
    ("old", "new", "trivial"),
    [
        ("Shares rose 2.8 percent.\nUpdated 10:32 a.m. GMT", "Shares rose 2.8 percent.\n", True),
        ("Posted 3 hours ago. Shares rose.", "Posted 5 hours ago. Shares rose.", True),
        (
            "The story had 1,204 views and 12 comments.",
            "The story had 1,390 views and 31 comments.",
            True,
        ),
        ("Nordhaven will cut 3,200 jobs.", "Nordhaven will cut 3,400 jobs.", False),
        (
            "The plant employs 7,800 people.",
            "The plant employs 7,800 people. Workers will be paid.",
            False,
        ),
        (
            "Body text here.\nCorrection: An earlier version misstated the date.",
            "Body text here.",
            False,
        ),
    ],
)
def test_is_trivial_change_cases(old: str, new: str, trivial: bool) -> None:
    assert fingerprint.is_trivial_change(old, new) is trivial


def test_signature_values_are_pinned() -> None:
    """Stored signatures and band keys must never change silently: the archive's LSH index
    and every stored ``article_signatures`` row were computed with these values."""
    fp = fingerprint.fingerprint((FIXTURES / "wire-original.txt").read_text())
    digest = hashlib.sha256(fp.minhash).hexdigest()
    assert digest == "4b3d65f6afdedcc9332377747279e66dfb2b36d8eba2c530b5f62956c6160543"
    assert fp.bands[:2] == ((0, 3292665694724537354), (1, -3383771956648516171))
    assert fp.anchor_bands[:2] == ((0, 22283169), (1, 31456453))


@pytest.mark.parametrize("count", [0, 1, 4, 300])
def test_minhash_values_equal_datasketch_affine32(count: int) -> None:
    """Our MinHash is datasketch's ``scheme="affine32"`` bit for bit (same permutations, same
    SHA-1 input hash, same pre-mix), for each of the three permutation sets."""
    datasketch = pytest.importorskip("datasketch")
    items = [f"shingle {i} ünïcode {i * 7919}".encode() for i in range(count)]
    for perms, seed in (
        (fingerprint._PERMUTATIONS, fingerprint.SEED),
        (fingerprint._ANCHOR_PERMUTATIONS, fingerprint.ANCHOR_SEED),
        (fingerprint._ENTITY_PERMUTATIONS, fingerprint.ENTITY_SEED),
    ):
        reference = datasketch.MinHash(num_perm=len(perms[0]), seed=seed, scheme="affine32")
        reference.update_batch(items)
        ours = fingerprint.minhash_values(items, perms)
        assert [int(v) for v in ours] == [int(v) for v in reference.hashvalues]


def test_fingerprint_does_not_import_datasketch() -> None:
    """datasketch's package imports SciPy and Redis (~60 MB per process): the crawl process and
    every extraction worker import this module, so it must stay free of it."""
    code = (
        "import sys; import newsarchive.extraction.fingerprint; "
        "sys.exit(int('datasketch' in sys.modules or 'scipy' in sys.modules))"
    )
    assert subprocess.run([sys.executable, "-c", code], check=False).returncode == 0
