"""dora: weight-decomposed LoRA (DoRA, Liu et al. 2024): a learned magnitude per output, LoRA on
the direction."""

from __future__ import annotations

from venus_core.i18n import N_
from venus_core.methods.lora import Lora


class Dora(Lora):
    """LoRA's fields, targets and size estimate (the magnitude vectors are negligible beside them)."""

    name = "dora"
    order = 40
    aliases = ("plm-dora",)
    label = N_("dora — weight-decomposed LoRA (DoRA)")
    use_dora = True


METHOD = Dora()
