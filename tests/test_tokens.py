"""The vectorised tokenizer gives exactly the ids of the model's own tokenizer, for every family.

The reference is ``Tokenizer.encode`` (one Hugging Face call per sequence); ``encode_arrays`` must
agree with it on every letter of each family's vocabulary, the unusual residues (U, Z, O, B, X),
letters the vocabulary lacks, special tokens, truncation, and input the table does not cover.
"""

from __future__ import annotations

import hashlib
import random
import string

import numpy as np
import pytest

from venus_core import assets, backbones, tokens
from venus_core.errors import VenusError

# Every family's input format: ESM plain; ProtBert and ProtT5 space-separated; Ankh pre-split words
# (the ProtT5-style test vocabulary read as split words); "plain" on a T5 vocabulary.
FAMILIES = ["esm", "bert", "t5", "t5-split_words", "embedded-esm2"]
ODD = ["", "A", "mkv", "MKv", "MK*V", "MK V", "MK-V", "MK.V", "MKé", "MK1", "<cls>MK", "XXXX", "UZOB"]


def _tokenizer(tiny_models, family: str) -> backbones.Tokenizer:
    if family == "embedded-esm2":
        folder = assets.embedded_model_dir()
        if not (folder / "config.json").exists():
            pytest.skip("the embedded ESM2-8M is not set up (make setup)")
        return backbones.load_backbone(str(folder))[1]
    name, _, fmt = family.partition("-")
    tok = backbones.load_backbone(str(tiny_models[name]))[1]
    if fmt:
        tok = backbones.Tokenizer(tok.hf, fmt, tok.n_prefix, tok.n_suffix, tok.max_residues, tok.pad_id)
        assert tok.encode(["MKV"])[0] != tok.encode(["M"])[0]  # the format really tokenizes
    return tok


def _reference(tok: backbones.Tokenizer, seqs: list[str], limit: int) -> list[list[int] | None]:
    """The tokenizer's ids per sequence, None where it refuses the sequence."""
    out: list[list[int] | None] = []
    for s in seqs:
        try:
            out.append(tok.encode([s], limit)[0])
        except VenusError:
            out.append(None)
    return out


def _random_sequences(alphabet: str, n: int, seed: int, max_len: int = 40) -> list[str]:
    rng = random.Random(seed)
    return ["".join(rng.choice(alphabet) for _ in range(rng.randint(0, max_len))) for _ in range(n)]


def _assert_same(tok: backbones.Tokenizer, seqs: list[str], limit: int) -> None:
    ref = _reference(tok, seqs, limit)
    ok = [s for s, r in zip(seqs, ref, strict=True) if r is not None]
    got = tok.encode_arrays(ok, limit)
    assert got.to_lists() == [r for r in ref if r is not None]
    assert got.offsets[0] == 0 and len(got) == len(ok)
    for s, r in zip(seqs, ref, strict=True):
        if r is None:  # refused by the tokenizer: refused the same way, never silently encoded
            with pytest.raises(VenusError, match="one token per residue"):
                tok.encode_arrays([s], limit)


@pytest.mark.parametrize("family", FAMILIES)
def test_every_letter_alone_and_in_every_context(tiny_models, family):
    tok = _tokenizer(tiny_models, family)
    table = tok.residue_table()
    assert table is not None  # every supported family is a per-residue tokenizer
    letters = list(string.ascii_uppercase)
    _assert_same(tok, letters, -1)
    # Every ordered pair of letters, the standard and unusual residues, and J (unknown to all).
    _assert_same(tok, [tokens.de_bruijn(string.ascii_uppercase, 2)], -1)
    _assert_same(tok, _random_sequences("ACDEFGHIKLMNPQRSTVWY" + "XBZUO" + "J", 200, seed=1), -1)


@pytest.mark.parametrize("family", FAMILIES)
@pytest.mark.parametrize("limit", [-1, 1, 7, 25])
def test_truncation_matches_the_tokenizer(tiny_models, family, limit):
    tok = _tokenizer(tiny_models, family)
    seqs = _random_sequences("ACDEFGHIKLMNPQRSTVWYXBZUO", 150, seed=limit + 10, max_len=60)
    _assert_same(tok, seqs, limit)
    got = tok.encode_arrays(seqs, limit)
    n_special = tok.n_prefix + tok.n_suffix
    expect = [min(len(s), limit) if limit > 0 else len(s) for s in seqs]
    assert (got.lengths - n_special).tolist() == expect  # truncated, never dropped


@pytest.mark.parametrize("family", FAMILIES)
def test_input_outside_the_table_goes_through_the_tokenizer(tiny_models, family):
    tok = _tokenizer(tiny_models, family)
    # Odd input mixed with ordinary sequences, so rows filled by the table and by the reference
    # interleave in one flat array.
    seqs = [
        x
        for pair in zip(ODD, _random_sequences("ACDEFGHIKLMNPQRSTVWY", len(ODD), 3), strict=True)
        for x in pair
    ]
    for limit in (-1, 2):
        _assert_same(tok, seqs, limit)


def test_special_tokens_surround_every_sequence(tiny_models):
    tok = _tokenizer(tiny_models, "esm")
    got = tok.encode_arrays(["MK", "", "V"])
    cls, eos = tok.hf.cls_token_id, tok.hf.eos_token_id
    assert got.to_lists() == [
        [cls, *tok.hf.convert_tokens_to_ids(["M", "K"]), eos],
        [cls, eos],
        tok.encode(["V"])[0],
    ]
    t5 = _tokenizer(tiny_models, "t5")
    assert t5.n_prefix == 0 and t5.encode_arrays(["MK"]).row(0)[-1] == t5.hf.eos_token_id


def test_a_tokenizer_that_reads_neighbours_keeps_the_reference_path(tiny_models, tmp_path):
    """A vocabulary with a two-letter token ("KK") is not a per-residue table: the check against
    the tokenizer catches it, and every sequence goes through the tokenizer (which refuses KK)."""
    tok = backbones.load_backbone(str(tiny_models["esm"]))[1]
    tok.hf.add_tokens(["KK"])
    assert tok.hf("MKKV")["input_ids"] != tok.encode(["MKV"])[0]  # KK is one token now
    fresh = backbones.Tokenizer(tok.hf, tok.input_format, tok.n_prefix, tok.n_suffix, None, tok.pad_id)
    assert fresh.residue_table() is None
    assert fresh.encode_arrays(["MKV", "AKA"]).to_lists() == fresh.encode(["MKV", "AKA"])
    with pytest.raises(VenusError, match="one token per residue"):
        fresh.encode_arrays(["MKKV"])


def test_build_table_rejects_context_dependent_and_letter_dependent_specials():
    def merging(seq: str) -> list[int]:  # "AB" becomes one token
        out, i = [0], 0
        while i < len(seq):
            if seq[i : i + 2] == "AB":
                out.append(99)
                i += 2
            else:
                out.append(ord(seq[i]))
                i += 1
        return out + [1]

    assert tokens.build_table(merging, 1, 1, pad_id=2, unk_id=3) is None

    def per_letter(seq: str) -> list[int]:
        return [0, *map(ord, seq), 1]

    table = tokens.build_table(per_letter, 1, 1, pad_id=2, unk_id=3)
    assert table is not None and table.dtype == np.uint8 and table.lut[ord("Q")] == ord("Q")

    def special_depends_on_letter(seq: str) -> list[int]:
        return [ord(seq[0]) if seq else 0, *map(ord, seq), 1]

    assert tokens.build_table(special_depends_on_letter, 1, 1, pad_id=2, unk_id=3) is None


def test_ids_beyond_the_compact_type_widen_the_array():
    """A reference row with an id the table's dtype cannot hold (uint8 here) widens the array."""

    class Hf:  # a per-letter tokenizer whose unknown token is id 1000
        unk_token_id = 1000

        def __call__(self, text, add_special_tokens=True):
            return {"input_ids": [0, *(ord(c) if c.isupper() else 1000 for c in text), 1]}

    tok = backbones.Tokenizer(Hf(), "plain", 1, 1, None, 2)
    got = tok.encode_arrays(["MK", "mk"])
    assert got.tokens.dtype == np.int32
    assert got.to_lists() == [[0, 77, 75, 1], [0, 1000, 1000, 1]]


def test_de_bruijn_holds_every_word_once():
    seq = tokens.de_bruijn("ABCD", 3)
    words = [seq[i : i + 3] for i in range(len(seq) - 2)]
    assert len(words) == 4**3 and len(set(words)) == 4**3


@pytest.mark.parametrize("chunk", [1, 7, 1 << 23])
def test_fingerprint_bytes_equal_the_row_by_row_hash(chunk):
    rows = [[], [5], [0, 2, 300], list(range(40)), [7] * 13, []]
    arrays = tokens.TokenArrays.from_lists(rows)
    assert arrays.tokens.dtype == np.int16 and arrays.to_lists() == rows
    a, b = hashlib.sha256(), hashlib.sha256()
    tokens.hash_rows(a, arrays, chunk_tokens=chunk)
    tokens.hash_rows_reference(b, rows)
    assert a.hexdigest() == b.hexdigest()
    other = tokens.TokenArrays.from_lists([[], [5, 0], [2, 300], *rows[3:]])  # same ids, other rows
    assert tokens.sha256_of_rows(other) != a.hexdigest()


def test_batches_from_the_flat_layout_are_padded_like_the_lists(tiny_models):
    import pandas as pd
    import torch

    from venus_core.config import RunConfig
    from venus_core.embedding_cache import SplitFeatures
    from venus_core.pipeline import collate, encode_frame, padded_inputs

    tok = _tokenizer(tiny_models, "esm")
    seqs = ["MKV", "A", "GGGGGGG", "KLM"]
    split = encode_frame(pd.DataFrame({"aa_seq": seqs}), tok, RunConfig(), targets=None)
    idx = [2, 0, 1]
    ids, attention = padded_inputs(split, idx)
    rows = tok.encode([seqs[i] for i in idx])
    width = 16  # the longest row (9 tokens) rounded up to a multiple of 8 (batching.PAD_MULTIPLE)
    assert max(map(len, rows)) == 9 and ids.shape == (3, width)
    assert ids.tolist() == [r + [tok.pad_id] * (width - len(r)) for r in rows]
    assert attention.tolist() == [[1] * len(r) + [0] * (width - len(r)) for r in rows]
    batch = collate(split, idx)
    assert batch["residue_mask"].tolist() == [[0 < p <= len(seqs[i]) for p in range(width)] for i in idx]
    # Cached per-token states come back in the same padded layout.
    states = np.arange(split.arrays.offsets[-1] * 2, dtype=np.float16).reshape(-1, 2)
    cached = collate(split, idx, SplitFeatures(None, states, split.arrays.offsets))["hidden"]
    for row, i in enumerate(idx):
        n = split.lengths[i]
        assert torch.equal(cached[row, :n], torch.from_numpy(states[split.arrays.offsets[i] :][:n]).float())
        assert not cached[row, n:].any()
