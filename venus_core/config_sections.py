"""The run's options, section by section (model, data, method, batch, train, output): every
option's type, default, help text and dashboard label. ``config.RunConfig`` puts them together and
loads, saves and validates them."""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from typing import Any

from venus_core import methods, vocab
from venus_core.i18n import N_


def _usable_cpus() -> int:
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # macOS, Windows
        return os.cpu_count() or 1


def _f(default: Any, help: str, **meta: Any) -> Any:
    """A dataclass field carrying its help text (shown by the CLI and every dashboard widget)."""
    meta["help"] = help
    if isinstance(default, (list, dict, set)):
        raise TypeError("use a tuple for sequence defaults: configs are frozen")
    return field(default=default, metadata=meta)


@dataclass(frozen=True)
class ModelConfig:
    plm_model: str = _f(
        "embedded:esm2_t6_8M-hemolysis",
        N_(
            "Protein language model: a Hugging Face hub id (e.g. facebook/esm2_t33_650M_UR50D), a local "
            "model folder, or 'embedded:esm2_t6_8M-hemolysis' (offline demo model)."
        ),
        label=N_("Protein Language Model"),
    )
    trust_remote_code: bool = _f(
        False,
        N_(
            "Allow the model's own Python code from the hub to run (needed by ProSST and ProPrime). "
            "Only enable it for model repositories you trust."
        ),
        label=N_("Trust remote code"),
    )


@dataclass(frozen=True)
class DataConfig:
    dataset: str | None = _f(
        "Demo_AMP",
        N_(
            "Dataset: a predefined dataset name (see `python -m venus_core datasets`), a Hugging Face "
            "dataset id (user/name), or a local folder with train/validation/test files."
        ),
        label=N_("Dataset"),
    )
    dataset_config: str | None = _f(
        None,
        N_("A dataset config JSON in VenusFactory's format; its values fill options you did not set."),
        label=N_("Dataset config file"),
    )
    train_file: str | None = _f(
        None,
        N_("Training split file (CSV, TSV, Parquet or JSON lines). Alone, it is split automatically."),
        label=N_("Training file"),
    )
    valid_file: str | None = _f(
        None,
        N_("Validation split file; if missing, carved from the training split."),
        label=N_("Validation file"),
    )
    test_file: str | None = _f(
        None, N_("Test split file; if missing, no test metrics are computed."), label=N_("Test file")
    )
    problem_type: str | None = _f(
        None,
        N_(
            "single_label_classification, multi_label_classification or regression. Predefined datasets "
            "set it for you."
        ),
        choices=vocab.PROBLEM_TYPES,
        label=N_("Problem Type"),
    )
    num_labels: int | None = _f(
        None,
        N_("Number of classes (classification) or 1 (regression). Predefined datasets set it for you."),
        label=N_("Number of Labels"),
    )
    metrics: tuple[str, ...] = _f(
        (),
        N_("Evaluation metrics, comma separated; empty means the defaults of the problem type."),
        choices=tuple(vocab.METRICS),
        label=N_("Metrics"),
    )
    multi_label_format: str = _f(
        "indices",
        N_(
            "Multi-label only: how the label column lists a protein's labels. 'indices': the class "
            "indices that apply, \"0,3\" (the guide's format). 'multi_hot': one 0/1 per label, "
            '"1,0,0,1" (num_labels entries).'
        ),
        choices=vocab.MULTI_LABEL_FORMATS,
        label=N_("Label format"),
    )
    sequence_column_name: str = _f(
        "aa_seq", N_("Column holding the amino-acid sequence."), label=N_("Sequence column")
    )
    label_column_name: str = _f("label", N_("Column holding the label."), label=N_("Label column"))
    normalize: str | None = _f(
        None,
        N_(
            "Regression only: normalise labels for training ('standard' or 'min_max'). Metrics and "
            "predictions are reported in the original units."
        ),
        choices=vocab.NORMALIZATIONS,
        label=N_("Label normalisation"),
    )
    split_ratios: tuple[float, float, float] = _f(
        (0.8, 0.1, 0.1),
        N_(
            "Train/validation/test fractions used when a dataset comes as one file (seeded, stratified "
            "for classification)."
        ),
        label=N_("Split ratios"),
    )
    split_method: str = _f(
        "random",
        N_(
            "How a dataset that comes as one file is split: random (seeded, stratified for classification) "
            "or homology (proteins more than split_identity identical stay in one split, so test measures "
            "generalisation to new proteins). homology also re-splits datasets that come with their splits "
            "(all rows pooled)."
        ),
        choices=vocab.SPLIT_METHODS,
        label=N_("Split method"),
    )
    split_identity: float = _f(
        0.3,
        N_(
            "homology split: proteins more identical than this fraction (0.3 = 30%) are kept in the same "
            "split. Identity: identical positions of the best local alignment / length of the shorter "
            "protein."
        ),
        label=N_("Split identity"),
    )
    leakage_report: bool = _f(
        True,
        N_(
            "Data doctor (check, Preview Dataset): align every validation and test protein to the training "
            "proteins and report its highest identity (cached in the save directory)."
        ),
        label=N_("Leakage report"),
    )
    leakage_identity: float = _f(
        0.9,
        N_(
            "Data doctor: warn about validation and test proteins at least this identical (fraction, 0.9 = "
            "90%) to a training protein (near-duplicates: their scores are too optimistic)."
        ),
        label=N_("Near-duplicate identity"),
    )
    max_seq_len: int = _f(
        -1,
        N_(
            "Longest sequence fed to the model, in residues; longer ones are truncated (never dropped). "
            "-1 means the model's own limit."
        ),
        label=N_("Max Sequence Length"),
    )


@dataclass(frozen=True)
class MethodConfig:
    training_method: str = _f(
        "freeze",
        N_(
            "How the model is fine-tuned: freeze (train the head only), full, plm-lora, dora, adalora, "
            "ia3, plm-qlora (4-bit backbone + LoRA) or ses-adapter (adds structure sequences)."
        ),
        choices=methods.names(),
        label=N_("Training Method"),
    )
    pooling_method: str = _f(
        "mean",
        N_("How per-residue embeddings become one vector per protein: mean, attention1d or light_attention."),
        choices=vocab.POOLING_METHODS,
        label=N_("Pooling Method"),
    )
    structure_seq: tuple[str, ...] = _f(
        vocab.STRUCTURE_SEQS,
        N_("ses-adapter only: structure sequence columns to fuse with the sequence (foldseek_seq, ss8_seq)."),
        choices=vocab.STRUCTURE_SEQS,
        label=N_("Structure Sequence"),
    )
    lora_r: int = _f(
        8,
        N_("LoRA rank: the size of the low-rank update; larger trains more parameters."),
        label=N_("LoRA Rank"),
    )
    lora_alpha: float = _f(
        32, N_("LoRA alpha: the update is scaled by alpha / rank."), label=N_("LoRA Alpha")
    )
    lora_dropout: float = _f(
        0.1, N_("Dropout applied to the LoRA input, for regularisation."), label=N_("LoRA Dropout")
    )
    lora_target_modules: tuple[str, ...] = _f(
        (),
        N_(
            "Module names that get adapters, comma separated; empty means the model family's default "
            "(ESM/BERT: query,key,value; T5/Ankh: q,k,v)."
        ),
        label=N_("LoRA Target Modules"),
    )


@dataclass(frozen=True)
class BatchConfig:
    batch_mode: str = _f(
        "size",
        N_(
            "'size': a fixed number of sequences per batch. 'token': a budget of residues per batch, "
            "best when lengths vary a lot."
        ),
        choices=vocab.BATCH_MODES,
        label=N_("Batch Processing Mode"),
    )
    batch_size: int = _f(
        16,
        N_("Sequences per batch (batch size mode). Lower it on out-of-memory errors."),
        label=N_("Batch Size"),
    )
    batch_token: int = _f(
        10000,
        N_(
            "Residues (tokens, padding included) per batch (token mode). A longer sequence gets a batch "
            "of its own."
        ),
        label=N_("Tokens per Batch"),
    )


@dataclass(frozen=True)
class TrainConfig:
    learning_rate: float = _f(5e-4, N_("Step size of the AdamW optimizer."), label=N_("Learning Rate"))
    num_epochs: int = _f(
        100,
        N_("Passes over the training set; early stopping may end training sooner."),
        label=N_("Number of Epochs"),
    )
    patience: int = _f(
        10,
        N_("Early stopping: stop after this many epochs without a better monitored value."),
        label=N_("Early Stopping Patience"),
    )
    monitor: str | None = _f(
        None,
        N_("Validation metric that picks the best epoch ('loss' or one of the metrics); default per task."),
        label=N_("Monitored metric"),
    )
    monitor_strategy: str | None = _f(
        None,
        N_("'max' or 'min': which direction of the monitor is better; default from the metric."),
        choices=("max", "min"),
        label=N_("Monitor direction"),
    )
    scheduler: str | None = _f(
        None,
        N_("Learning-rate schedule over optimizer steps: linear, cosine, step, or none (constant)."),
        choices=vocab.SCHEDULERS,
        label=N_("Scheduler Type"),
    )
    warmup_steps: int = _f(
        0,
        N_("Optimizer steps over which the learning rate rises from 0 (0: no warmup)."),
        label=N_("Warmup Steps"),
    )
    gradient_accumulation_steps: int = _f(
        1,
        N_("Batches whose gradients are summed before one optimizer step (simulates larger batches)."),
        label=N_("Gradient Accumulation Steps"),
    )
    max_grad_norm: float = _f(
        -1.0,
        N_("Clip the gradient norm to this value at each optimizer step; -1 is off."),
        label=N_("Max Gradient Norm"),
    )
    num_workers: int = _f(
        min(4, _usable_cpus()),
        N_(
            "Data loading worker processes; 0 loads in the main process. Default: 4, or the number of "
            "cores on a machine with fewer."
        ),
        label=N_("Number of Workers"),
    )
    seed: int = _f(42, N_("Seed for every source of randomness: same seed, same result."), label=N_("Seed"))
    device: str = _f(
        "auto", N_("auto (CUDA, then MPS, then CPU), cpu, cuda, cuda:N or mps."), label=N_("Device")
    )
    mixed_precision: bool = _f(
        True,
        N_(
            "Autocast to bf16 where the hardware computes it natively (GPUs with bf16, else fp16; CPUs "
            "with Intel AMX or AVX512-BF16, AMD Zen 4 and newer); float32 elsewhere. Off: float32 on "
            "every device, the same numbers on any machine."
        ),
        label=N_("Mixed precision"),
    )
    embedding_cache: bool = _f(
        True,
        N_("freeze and ses-adapter: compute the frozen backbone once and reuse its outputs every epoch."),
        label=N_("Cache frozen-backbone outputs"),
    )
    fsdp: bool = _f(
        False,
        N_(
            "Under torchrun: shard parameters, gradients and optimizer state across the processes (PyTorch "
            "FSDP) instead of giving each a full copy, for backbones too large for one device (ESM2-15B, "
            "ProtT5-XXL). For full, plm-lora, dora and ia3."
        ),
        label=N_("FSDP sharding"),
    )


@dataclass(frozen=True)
class OutputConfig:
    output_dir: str = _f(
        "ckpt", N_("Save directory: each run gets its own folder inside it."), label=N_("Save Directory")
    )
    run_name: str | None = _f(
        None,
        N_("Folder name of this run inside the save directory; default is generated."),
        label=N_("Run name"),
    )
    output_model_name: str = _f(
        "model.safetensors",
        N_(
            "File name of the final model (the best epoch's trained tensors) inside the run folder. "
            "Always written in the safetensors format: a .pt/.bin name (the guide's model.pt) becomes "
            ".safetensors."
        ),
        label=N_("Output Model Name"),
    )
    wandb: bool = _f(
        False,
        N_("Log the run to Weights & Biases (respects WANDB_MODE, e.g. offline)."),
        label=N_("Enable W&B Logging"),
    )
    wandb_project: str | None = _f(
        None, N_("W&B project name (default: venus-finetune)."), label=N_("W&B Project")
    )
    wandb_entity: str | None = _f(
        None, N_("W&B entity (user or team); default is your W&B default."), label=N_("W&B Entity")
    )


SECTIONS: dict[str, type] = {
    "model": ModelConfig,
    "data": DataConfig,
    "method": MethodConfig,
    "batch": BatchConfig,
    "train": TrainConfig,
    "output": OutputConfig,
}
