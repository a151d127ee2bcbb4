"""ia3: learned rescaling of attention keys, values and feed-forward activations (IA³, Liu et al.
2022): no rank to choose, the fewest trained parameters."""

from __future__ import annotations

from venus_core.i18n import N_
from venus_core.methods import _peft
from venus_core.methods._base import Method


class Ia3(Method):
    name = "ia3"
    order = 60
    aliases = ("plm-ia3",)
    label = N_("ia3 — learned rescaling of activations (IA³)")
    note = N_("IA³ rescales the attention keys, values and feed-forward outputs; it has no rank to choose.")

    def prepare(self, backbone, cfg, arch, total_steps):
        from peft import IA3Config

        _peft.check_targets(backbone, arch.ia3_targets, "IA3 target modules")
        peft_config = IA3Config(
            target_modules=list(arch.ia3_targets), feedforward_modules=list(arch.ia3_feedforward)
        )
        return _peft.wrap(backbone, peft_config)


METHOD = Ia3()
