"""plm-lora: low-rank adapters (LoRA, Hu et al. 2021) on the attention projections."""

from __future__ import annotations

from venus_core.i18n import N_
from venus_core.methods import _peft
from venus_core.methods._base import Method


class Lora(Method):
    name = "plm-lora"
    order = 30
    aliases = ("lora",)
    label = N_("plm-lora — low-rank adapters (LoRA)")
    fields = _peft.LORA_FIELDS
    use_dora = False  # DoRA (dora.py) is this method with the weight decomposition on

    def prepare(self, backbone, cfg, arch, total_steps):
        _peft.check_targets(backbone, _peft.lora_targets(cfg, arch))
        extra = {"use_dora": True} if self.use_dora else {}
        return _peft.wrap(backbone, _peft.lora_config(cfg, arch, **extra))

    def adapter_params_estimate(self, entry, cfg):
        return _peft.lora_params_estimate(entry, cfg)


METHOD = Lora()
