"""Loading a protein language model backbone and turning sequences into its tokens.

The architecture comes from ``config.json`` ``model_type`` (``models.architecture_for``), never from
the model's name. Each architecture has its own input format; we pick the first format under which
the tokenizer maps every residue to exactly one known token, so residue i always sits at token
``n_prefix + i`` (the pooling mask and the SES-Adapter's structure tokens rely on that).
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import torch
from torch import nn

from venus_core import models, tokens
from venus_core.errors import VenusError
from venus_core.fast_attention import use_fast_attention
from venus_core.fast_layers import use_fast_layers

# U (selenocysteine), Z, O, B are rare or ambiguous; BERT/T5 protein vocabularies map them to X.
_RARE_TO_X = str.maketrans("UZOB", "XXXX")
_PROBE = "MKTAYIAKQRQISFVKSHFSRQ"  # a real peptide prefix: every standard residue format must tokenize it


def format_sequence(seq: str, input_format: str) -> str | list[str]:
    if input_format == "plain":
        return seq
    if input_format == "spaced":
        return " ".join(seq.translate(_RARE_TO_X))
    if input_format == "split_words":
        return list(seq.translate(_RARE_TO_X))
    raise ValueError(input_format)


@dataclass
class Tokenizer:
    """A Hugging Face tokenizer plus the input format that keeps residues one token each."""

    hf: Any
    input_format: str
    n_prefix: int  # special tokens before the first residue (<cls> for ESM/BERT, none for T5)
    n_suffix: int  # special tokens after the last residue (<eos>/[SEP]/</s>)
    max_residues: int | None  # hard limit of the model (positions), None when unlimited
    pad_id: int
    _table: Any = field(default=None, init=False, repr=False, compare=False)

    def encode_arrays(self, seqs: list[str], max_seq_len: int = -1) -> tokens.TokenArrays:
        """What ``encode`` gives, as flat arrays, at memory speed (``venus_core.tokens``): a
        residue -> id table where the tokenizer is one (every supported family), the reference
        ``encode`` for sequences the table does not cover (and for any other tokenizer)."""
        table = self.residue_table()
        if table is None:
            return tokens.TokenArrays.from_lists(self.encode(seqs, max_seq_len))
        arrays, slow = tokens.encode_with_table(table, seqs, self.residue_limit(max_seq_len))
        if not slow.size:
            return arrays
        rows = self.encode([seqs[i] for i in slow], max_seq_len)
        out = arrays.tokens
        if max(max(r, default=0) for r in rows) > np.iinfo(out.dtype).max:
            out = out.astype(np.int32)
        for i, ids in zip(slow, rows, strict=True):  # same length as laid out: encode checks it
            out[arrays.offsets[i] : arrays.offsets[i + 1]] = ids
        return tokens.TokenArrays(out, arrays.offsets)

    def residue_table(self) -> tokens.ResidueTable | None:
        """The tokenizer's residue table, derived from it and checked against it once."""
        if self._table is None:
            table = tokens.build_table(
                self._encode_one, self.n_prefix, self.n_suffix, self.pad_id, self.hf.unk_token_id
            )
            self._table = table if table is not None else False
        return self._table or None

    def encode(self, seqs: list[str], max_seq_len: int = -1) -> list[list[int]]:
        """Token ids per sequence; sequences longer than the limit are truncated, never dropped.
        The reference: one Hugging Face tokenizer call per sequence."""
        limit = self.residue_limit(max_seq_len)
        out = []
        for s in seqs:
            s = s[:limit] if limit else s
            ids = self._encode_one(s)
            if len(ids) != len(s) + self.n_prefix + self.n_suffix:
                raise VenusError(
                    f"The tokenizer did not map sequence '{s[:30]}...' to one token per residue "
                    f"({len(ids)} tokens for {len(s)} residues); it is not a residue-level protein tokenizer."
                )
            out.append(ids)
        return out

    def residue_limit(self, max_seq_len: int = -1) -> int | None:
        limits = [
            x for x in (self.max_residues, max_seq_len if max_seq_len and max_seq_len > 0 else None) if x
        ]
        return min(limits) if limits else None

    def _encode_one(self, s: str) -> list[int]:
        text = format_sequence(s, self.input_format)
        kwargs = {"is_split_into_words": True} if self.input_format == "split_words" else {}
        return self.hf(text, add_special_tokens=True, **kwargs)["input_ids"]


def build_tokenizer(hf_tokenizer: Any, arch: models.Architecture, model_config: Any) -> Tokenizer:
    """Pick the first of the architecture's input formats that tokenizes residues one-to-one."""
    unk = hf_tokenizer.unk_token_id
    specials = set(hf_tokenizer.all_special_ids)
    for fmt in arch.input_formats:
        kwargs = {"is_split_into_words": True} if fmt == "split_words" else {}
        try:
            ids = hf_tokenizer(format_sequence(_PROBE, fmt), add_special_tokens=True, **kwargs)["input_ids"]
        except Exception:  # a format the tokenizer cannot take at all
            continue
        content = [i for i, t in enumerate(ids) if t not in specials]
        if len(content) == len(_PROBE) and unk not in [ids[i] for i in content]:
            n_prefix = content[0]
            n_suffix = len(ids) - content[-1] - 1
            if content != list(range(n_prefix, n_prefix + len(_PROBE))):
                continue
            pad = hf_tokenizer.pad_token_id
            if pad is None:
                raise VenusError("The model's tokenizer has no padding token; it cannot batch sequences.")
            return Tokenizer(
                hf_tokenizer, fmt, n_prefix, n_suffix, _max_residues(model_config, n_prefix + n_suffix), pad
            )
    raise VenusError(
        f"The tokenizer of this {arch.name} model does not map amino acids to one token each in any "
        f"known input format ({', '.join(arch.input_formats)}); is it a protein language model?"
    )


def _max_residues(model_config: Any, n_special: int) -> int | None:
    """Absolute position embeddings cap the length; rotary/relative ones (ESM2, T5) do not."""
    if getattr(model_config, "position_embedding_type", "absolute") != "absolute":
        return None
    max_pos = getattr(model_config, "max_position_embeddings", None)
    if not max_pos:
        return None
    # ESM reserves padding_idx + 1 positions (1026 positions -> 1022 residues for ESM-1b/1v).
    offset = (model_config.pad_token_id + 1) if getattr(model_config, "model_type", "") == "esm" else 0
    return max_pos - offset - n_special


def load_config(source: str, trust_remote_code: bool, local_only: bool = False) -> Any:
    """The model's transformers config; ``local_only`` reads only folders and the hub cache (no
    network), for previews that must answer at once."""
    from transformers import AutoConfig

    try:
        return AutoConfig.from_pretrained(
            source, trust_remote_code=trust_remote_code, local_files_only=local_only
        )
    except (OSError, ValueError) as e:
        raise _load_error(source, e) from None


def _load_error(source: str, e: Exception) -> VenusError:
    text = str(e).splitlines()[0] if str(e) else type(e).__name__
    if "trust_remote_code" in str(e):
        return VenusError(
            f"Model {source} runs its own code from the hub. Enable trust_remote_code "
            "(--trust_remote_code, or the checkbox on the Model page) only if you trust that repository."
        )
    if os.path.isdir(source):
        return VenusError(f"Could not load the model folder {source}: {text}")
    return VenusError(
        f"Could not load model '{source}' from the Hugging Face hub ({text}). Check the id and your "
        f"network, or use a local model folder or the embedded model ({models.assets.EMBEDDED_MODEL_ID})."
    )


def needs_remote_code(plm_model: str, source: str) -> bool:
    """Decided before anything is loaded: from the catalogue, or a local config.json's
    ``model_type``/``auto_map`` (custom code is declared there)."""
    entry = models.find_entry(plm_model)
    if entry is not None:
        return entry.trust_remote_code
    if os.path.isdir(source):
        cfg = models.read_model_config(source)
        arch = models.known_architecture(cfg.get("model_type"))
        return bool(cfg.get("auto_map")) or (arch is not None and arch.needs_remote_code)
    return False


def _transformers_class(arch: models.Architecture) -> Any:
    import transformers

    return getattr(transformers, arch.encoder_only_class)


def load_backbone(
    plm_model: str,
    trust_remote_code: bool = False,
    load_options: dict[str, Any] | None = None,
    torch_dtype: torch.dtype | None = None,
) -> tuple[nn.Module, Tokenizer, models.Architecture]:
    """The encoder (no task head, no pooler), its tokenizer and its architecture. ``load_options``:
    extra ``from_pretrained`` arguments of the fine-tuning method (QLoRA's quantization)."""
    from transformers import AutoTokenizer

    source = models.resolve_model_source(plm_model)
    if needs_remote_code(plm_model, source) and not trust_remote_code:
        raise VenusError(
            f"{plm_model} needs trust_remote_code: it runs Python code from its hub repository. "
            "Enable it explicitly (--trust_remote_code, or the checkbox on the Model page) only if you "
            "trust that repository."
        )
    hf_config = load_config(source, trust_remote_code)
    arch = models.architecture_for(getattr(hf_config, "model_type", None))
    kwargs: dict[str, Any] = {"trust_remote_code": trust_remote_code}
    if arch.name in ("esm", "bert"):
        kwargs["add_pooling_layer"] = False  # we pool ourselves; an unused pooler only wastes memory
    kwargs.update(load_options or {})
    if torch_dtype is not None:
        kwargs["dtype"] = torch_dtype
    cls = _transformers_class(arch)
    # transformers reports every unused checkpoint weight (e.g. a masked-LM head) and draws progress
    # bars while loading: noise in a training log.
    from transformers.utils import logging as hf_logging

    hf_logging.set_verbosity_error()
    hf_logging.disable_progress_bar()
    try:
        try:
            model = cls.from_pretrained(source, attn_implementation="sdpa", **kwargs)
        except (ValueError, ImportError, TypeError) as e:
            if "sdpa" not in str(e).lower() and "attn_implementation" not in str(e):
                raise
            model = cls.from_pretrained(source, **kwargs)
        hf_tok = AutoTokenizer.from_pretrained(source, trust_remote_code=trust_remote_code)
    except VenusError:
        raise
    except (OSError, ValueError) as e:
        raise _load_error(source, e) from None
    use_fast_layers(model)
    use_fast_attention(model)
    return model, build_tokenizer(hf_tok, arch, hf_config), arch


def hidden_size_of(model: nn.Module) -> int:
    cfg = model.config
    for key in ("hidden_size", "d_model"):
        if getattr(cfg, key, None):
            return int(getattr(cfg, key))
    raise VenusError("Cannot tell the model's hidden size from its config (no hidden_size or d_model).")
