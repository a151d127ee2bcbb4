"""plm-qlora: LoRA on a backbone loaded in 4-bit NormalFloat (QLoRA, Dettmers et al. 2023), through
bitsandbytes; the smallest memory for the backbone's weights."""

from __future__ import annotations

from venus_core import memory
from venus_core.errors import VenusError
from venus_core.i18n import N_
from venus_core.methods import _peft
from venus_core.methods._base import Method


class QLora(Method):
    name = "plm-qlora"
    order = 70
    aliases = ("qlora",)
    label = N_("plm-qlora — LoRA on a 4-bit model (QLoRA)")
    fields = _peft.LORA_FIELDS
    frozen_weight_bytes = memory.NF4_BYTES
    fsdp_refusal = N_("the 4-bit backbone is already small, and bitsandbytes weights cannot be sharded.")

    def load_options(self, device):
        """bitsandbytes 4-bit nf4: bf16 compute on GPUs that have it, fp32 elsewhere.

        Linear layers created fresh at load time must not be quantized; ours (the head) live
        outside the backbone, and ESM's contact head is skipped because its input size is not a
        multiple of 64."""
        try:
            import bitsandbytes  # noqa: F401
        except ImportError:
            raise VenusError(
                f"{self.name} needs the bitsandbytes package: pip install bitsandbytes"
            ) from None
        import torch
        from transformers import BitsAndBytesConfig

        bf16 = device.type == "cuda" and torch.cuda.is_bf16_supported()
        quantization = BitsAndBytesConfig(
            load_in_4bit=True,
            bnb_4bit_quant_type="nf4",
            bnb_4bit_use_double_quant=True,
            bnb_4bit_compute_dtype=torch.bfloat16 if bf16 else torch.float32,
            llm_int8_skip_modules=["contact_head", "pooler.dense", "classifier", "lm_head"],
        )
        return {"quantization_config": quantization}

    def places_its_weights(self) -> bool:
        return True  # bitsandbytes puts the quantized weights on the device as it loads them

    def prepare(self, backbone, cfg, arch, total_steps):
        from peft import prepare_model_for_kbit_training

        _peft.check_targets(backbone, _peft.lora_targets(cfg, arch))
        # Gradient checkpointing is left off: it trades compute for memory, and the quantized
        # weights already saved most of it. The call casts norms to fp32 for stable training.
        backbone = prepare_model_for_kbit_training(backbone, use_gradient_checkpointing=False)
        return _peft.wrap(backbone, _peft.lora_config(cfg, arch))

    def counted_as(self) -> Method:
        # Quantization does not change the logical parameter count: a preview counts plain LoRA.
        from venus_core.methods.lora import METHOD as lora

        return lora

    def adapter_params_estimate(self, entry, cfg):
        return _peft.lora_params_estimate(entry, cfg)


METHOD = QLora()
