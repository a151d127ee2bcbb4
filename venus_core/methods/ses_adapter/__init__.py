"""ses-adapter: fuse per-residue structure sequences (Foldseek 3Di, DSSP 8-state) into a frozen
PLM's states before pooling (SES-Adapter, Tan et al. 2024). The adapter itself is in ``model``."""

from __future__ import annotations

from venus_core import vocab
from venus_core.errors import VenusError
from venus_core.i18n import N_
from venus_core.methods._base import Method


class SesAdapterMethod(Method):
    name = "ses-adapter"
    order = 80
    label = N_("ses-adapter — fuse structure sequences (foldseek, SS8) with the sequence")
    note = N_("The dataset needs these columns (the predefined AlphaFold2/ESMFold datasets have them).")
    fields = ("structure_seq",)
    frozen_backbone = True
    fsdp_refusal = N_(
        "its frozen backbone has no gradients or optimizer state to shard and runs only once, to "
        "fill the embedding cache."
    )

    def problems(self, cfg):
        if not cfg.method.structure_seq:
            return [
                N_("{method} needs at least one structure sequence ({options}).").format(
                    method=self.name, options=", ".join(vocab.STRUCTURE_SEQS)
                )
            ]
        return []

    def required_columns(self, cfg):
        return tuple(cfg.method.structure_seq)

    def prepare(self, backbone, cfg, arch, total_steps):
        backbone.requires_grad_(False)
        return backbone

    def fusion(self, hidden_size, cfg):
        from venus_core.methods.ses_adapter.model import SesAdapter

        return SesAdapter(hidden_size, cfg.method.structure_seq)

    def residue_inputs(self, frame, residues, n_prefix, n_suffix, cfg):
        """Structure token ids under the model's tokens: the adapter's "unknown/special" index
        under <cls>/<eos>, one letter per kept residue (truncated like the sequence)."""
        from venus_core.methods.ses_adapter.model import UNKNOWN_ID, encode_structure

        out = {}
        for kind in cfg.method.structure_seq:
            if kind not in frame.columns:
                raise VenusError(
                    f"{self.name} needs a '{kind}' column; the data has {', '.join(frame.columns)}."
                )
            out[kind] = [
                [UNKNOWN_ID] * n_prefix + encode_structure(kind, s[:n]) + [UNKNOWN_ID] * n_suffix
                for s, n in zip(frame[kind].astype(str).tolist(), residues, strict=True)
            ]
        return out


METHOD = SesAdapterMethod()
