"""adalora: LoRA whose ranks are reallocated during training by importance (AdaLoRA, Zhang et al.
2023). Needs the real number of optimizer steps for its rank schedule, a rank update after every
optimizer step, an orthogonality regulariser in the loss, and its importance scores in checkpoints
(the reference implementation had none of these, so it could not start)."""

from __future__ import annotations

from typing import Any

from venus_core.i18n import N_
from venus_core.methods import _peft
from venus_core.methods._base import Method, TrainingHooks

SCORES = ("ipt", "exp_avg_ipt", "exp_avg_unc")  # peft RankAllocator's per-weight statistics


class AdaLora(Method):
    name = "adalora"
    order = 50
    aliases = ("plm-adalora",)
    label = N_("adalora — LoRA with adaptive ranks (AdaLoRA)")
    fields = _peft.LORA_FIELDS
    fsdp_refusal = N_("AdaLoRA's rank allocation reads whole adapter matrices at every step.")

    def prepare(self, backbone, cfg, arch, total_steps):
        from peft import AdaLoraConfig

        m = cfg.method
        targets = _peft.lora_targets(cfg, arch)
        _peft.check_targets(backbone, targets)
        total = max(int(total_steps), 1)
        # Rank pruning starts after 10% of training and is fixed for the last 20% (peft's own ratios).
        tinit, tfinal = total // 10, total // 5
        peft_config = AdaLoraConfig(
            init_r=max(m.lora_r * 3 // 2, m.lora_r),
            target_r=m.lora_r,
            lora_alpha=m.lora_alpha,
            lora_dropout=m.lora_dropout,
            target_modules=list(targets),
            total_step=total,
            tinit=tinit,
            tfinal=tfinal,
            deltaT=max(1, (total - tinit - tfinal) // 10),
        )
        return _peft.wrap(backbone, peft_config)

    def adapter_params_estimate(self, entry, cfg):
        return _peft.lora_params_estimate(entry, cfg)

    def training_hooks(self, model):
        backbone = model.backbone
        return TrainingHooks(
            extra_loss=lambda: orthogonality(backbone),
            # The rank budget update reads this step's gradients: after the step, before zero_grad.
            after_step=backbone.base_model.update_and_allocate,
        )

    def checkpoint_state(self, model):
        """What the rank allocation has learnt so far: the smoothed importance scores of every
        adapter weight, and the rank pattern once the ranks are fixed. Without them a resumed run
        would allocate ranks from fresh scores, or (in the final phase) have no pattern."""
        backbone = model.backbone
        alloc = backbone.base_model.rankallocator
        tensors = {
            f"{kind}/{name}": t.detach().to("cpu").contiguous()
            for kind in SCORES
            for name, t in getattr(alloc, kind).items()
        }
        return tensors, {"rank_pattern": backbone.peft_config[alloc.adapter_name].rank_pattern}

    def restore_state(self, model, tensors, meta: dict[str, Any]) -> None:
        backbone = model.backbone
        alloc = backbone.base_model.rankallocator
        device = next(p for p in backbone.parameters() if p.requires_grad).device
        for kind in SCORES:
            prefix = kind + "/"
            scores = {k[len(prefix) :]: v.to(device) for k, v in tensors.items() if k.startswith(prefix)}
            setattr(alloc, kind, scores)
        backbone.peft_config[alloc.adapter_name].rank_pattern = meta.get("rank_pattern")


def orthogonality(backbone):
    """AdaLoRA's regulariser keeping P (``lora_A``) and Q (``lora_B``) near-orthogonal: the mean of
    ||P P^T - I||_F and ||Q^T Q - I||_F, times ``orth_reg_weight`` (the paper's and peft's form). peft
    adds it only to a loss its own forward computed from labels; here the head computes the loss,
    so the training loop adds it."""
    import torch

    config = backbone.peft_config[backbone.base_model.rankallocator.adapter_name]
    terms = []
    for name, p in backbone.named_parameters():
        if p.requires_grad and ("lora_A" in name or "lora_B" in name):
            cov = p @ p.T if "lora_A" in name else p.T @ p
            eye = torch.eye(cov.shape[0], dtype=cov.dtype, device=cov.device)
            terms.append(torch.linalg.matrix_norm(cov - eye))
    return config.orth_reg_weight * torch.stack(terms).mean()


METHOD = AdaLora()
