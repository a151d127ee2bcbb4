"""full: every backbone parameter trains (the reference implementation never updated them)."""

from __future__ import annotations

from venus_core.i18n import N_
from venus_core.methods._base import Method


class Full(Method):
    name = "full"
    order = 20
    label = N_("full — train every parameter (most memory)")
    trains_backbone = True

    def prepare(self, backbone, cfg, arch, total_steps):
        backbone.requires_grad_(True)
        # Modules an architecture never uses for our task (ESM's contact head) get no gradient;
        # left trainable they would break DDP ("expected to have finished reduction").
        for name, module in backbone.named_modules():
            if name.split(".")[-1] in arch.unused_modules:
                module.requires_grad_(False)
        return backbone


METHOD = Full()
