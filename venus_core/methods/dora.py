"""dora: weight-decomposed LoRA (DoRA, Liu et al. 2024): a learned magnitude per output, LoRA on
the direction."""

from __future__ import annotations

from venus_core.methods import _peft
from venus_core.methods._base import Method


class Dora(Method):
    name = "dora"
    order = 40
    aliases = ("plm-dora",)
    label = "dora — weight-decomposed LoRA (DoRA)"
    fields = _peft.LORA_FIELDS

    def prepare(self, backbone, cfg, arch, total_steps):
        _peft.check_targets(backbone, _peft.lora_targets(cfg, arch))
        return _peft.wrap(backbone, _peft.lora_config(cfg, arch, use_dora=True))

    def adapter_params_estimate(self, entry, cfg):
        return _peft.lora_params_estimate(entry, cfg)


METHOD = Dora()
