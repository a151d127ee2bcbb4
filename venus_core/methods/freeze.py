"""freeze: the pretrained backbone stays as it is; only the pooling head trains."""

from __future__ import annotations

from venus_core.i18n import N_
from venus_core.methods._base import Method


class Freeze(Method):
    name = "freeze"
    order = 10
    label = N_("freeze — frozen model, train the pooling head only (fastest)")
    frozen_backbone = True
    fsdp_refusal = N_(
        "a frozen backbone has no gradients or optimizer state to shard and runs only once, to fill "
        "the embedding cache."
    )

    def prepare(self, backbone, cfg, arch, total_steps):
        backbone.requires_grad_(False)
        return backbone


METHOD = Freeze()
