"""What a fine-tuning method is: the hooks the rest of the library asks every method for.

A method module defines a subclass of ``Method`` and one instance of it named ``METHOD``; the
package discovers it (``venus_core.methods``). Everything a method needs that differs from the
defaults below lives in its own module: how it wraps the backbone, the options it reads, what it
refuses, its extra loss and per-step work, its checkpoint state, its memory model and its text on
the Model page. Method modules stay light to import (torch and peft only inside the hooks), so the
config, the CLI and the pages can ask the registry without loading the training stack.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from venus_core import memory

if TYPE_CHECKING:
    import pandas as pd
    import torch
    from torch import nn

    from venus_core.config import RunConfig
    from venus_core.models import Architecture, ModelEntry


@dataclass(frozen=True)
class TrainingHooks:
    """What the training loop calls for a method, beyond forward/backward/step."""

    extra_loss: Callable[[], torch.Tensor] | None = None  # a regulariser added to the task loss
    after_step: Callable[[int], None] | None = None  # after each optimizer step (its number)


class Method:
    """A fine-tuning method. Subclasses set the class attributes and override the hooks they need."""

    name: str = ""  # the guide's spelling: the value of ``training_method``
    order: int = 0  # its place in the guide's list (the order of every menu)
    aliases: tuple[str, ...] = ()  # other spellings accepted (the reference CLI's)
    label: str = ""  # the Model page's one-line description
    note: str = ""  # shown under the method on the Model page, when there is something to say
    fields: tuple[str, ...] = ()  # the RunConfig options it reads (the Model page shows their widgets)
    frozen_backbone: bool = False  # the backbone never changes: no gradients, outputs cacheable
    trains_backbone: bool = False  # every backbone weight trains (no adapters)
    frozen_weight_bytes: float = memory.FP32_BYTES  # bytes per frozen backbone parameter in memory
    fsdp_refusal: str | None = None  # why FSDP sharding does not apply (one sentence), or None

    # -- configuration ----------------------------------------------------------------------------
    def problems(self, cfg: RunConfig) -> list[str]:
        """What is wrong with ``cfg`` for this method, as actionable sentences."""
        return []

    def required_columns(self, cfg: RunConfig) -> tuple[str, ...]:
        """Data columns the method needs beyond the sequence and the label."""
        return ()

    # -- the model --------------------------------------------------------------------------------
    def load_options(self, device: torch.device) -> dict[str, Any]:
        """Extra ``from_pretrained`` arguments for the backbone (e.g. quantization)."""
        return {}

    def places_its_weights(self) -> bool:
        """True when loading already put the weights on the device (bitsandbytes does)."""
        return False

    def prepare(self, backbone: nn.Module, cfg: RunConfig, arch: Architecture, total_steps: int) -> nn.Module:
        """The module to train, with ``requires_grad`` set on exactly the method's parameters."""
        raise NotImplementedError

    def counted_as(self) -> Method:
        """The method whose parameters a preview counts on the meta device (QLoRA counts as LoRA)."""
        return self

    def fusion(self, hidden_size: int, cfg: RunConfig) -> nn.Module | None:
        """A module between the backbone and the pooling head (fusing other per-residue inputs into
        the hidden states), or None."""
        return None

    def residue_inputs(self, frame: pd.DataFrame, residues: list[int], n_prefix: int, n_suffix: int, cfg):
        """Per-token inputs besides the sequence, aligned with the model's tokens:
        ``{name: [[id per token] per sequence]}`` (padded with 0 when batched)."""
        return {}

    def adapter_params_estimate(self, entry: ModelEntry, cfg: RunConfig) -> int:
        """Parameters the method adds to a catalogue model, before its config is read."""
        return 0

    # -- training ---------------------------------------------------------------------------------
    def training_hooks(self, model: nn.Module) -> TrainingHooks:
        return TrainingHooks()

    @property
    def state_file(self) -> str:
        """The file of ``checkpoint_state``'s tensors in a checkpoint folder (its metadata goes in
        trainer_state.json under ``name``)."""
        return f"{self.name}.safetensors"

    def checkpoint_state(self, model: nn.Module) -> tuple[dict[str, torch.Tensor], dict[str, Any]] | None:
        """State beyond the trained tensors that a resumed run needs: (tensors, JSON metadata)."""
        return None

    def restore_state(self, model: nn.Module, tensors: dict[str, torch.Tensor], meta: dict[str, Any]) -> None:
        """Put back what ``checkpoint_state`` saved."""

    def __repr__(self) -> str:
        return f"Method({self.name!r})"
