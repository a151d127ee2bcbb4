"""RunConfig: every option of a training run, with the guide's defaults and help text.

One nested, frozen dataclass is the single source of defaults for the CLI, the dashboard and the
run directory's ``config.json``. Field names are the VenusFactory ``src/train.py`` flag names, so
the CLI parser (``venus_core.cli``) is generated from these fields and ``--config run.json``,
``config.json`` and flags are interchangeable.
"""

from __future__ import annotations

import dataclasses
import json
import math
import os
from dataclasses import dataclass, field, fields, replace
from pathlib import Path
from typing import Any

from venus_core import methods, vocab
from venus_core.errors import VenusError
from venus_core.jsonvalues import jsonable

CONFIG_VERSION = 1
# Options earlier versions wrote into run folders' config.json, ignored when such a file is read
# (so old runs still evaluate, predict and resume): the reason each was retired.
RETIRED_OPTIONS = {
    "cpu_bf16": "mixed_precision now autocasts to bf16 on every CPU that computes bf16 natively",
}


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
        "Protein language model: a Hugging Face hub id (e.g. facebook/esm2_t33_650M_UR50D), a local "
        "model folder, or 'embedded:esm2_t6_8M-hemolysis' (offline demo model).",
        label="Protein Language Model",
    )
    trust_remote_code: bool = _f(
        False,
        "Allow the model's own Python code from the hub to run (needed by ProSST and ProPrime). "
        "Only enable it for model repositories you trust.",
        label="Trust remote code",
    )


@dataclass(frozen=True)
class DataConfig:
    dataset: str | None = _f(
        "Demo_AMP",
        "Dataset: a predefined dataset name (see `python -m venus_core datasets`), a Hugging Face "
        "dataset id (user/name), or a local folder with train/validation/test files.",
        label="Dataset",
    )
    dataset_config: str | None = _f(
        None,
        "A dataset config JSON in VenusFactory's format; its values fill options you did not set.",
        label="Dataset config file",
    )
    train_file: str | None = _f(
        None,
        "Training split file (CSV, TSV, Parquet or JSON lines). Alone, it is split automatically.",
        label="Training file",
    )
    valid_file: str | None = _f(
        None, "Validation split file; if missing, carved from the training split.", label="Validation file"
    )
    test_file: str | None = _f(
        None, "Test split file; if missing, no test metrics are computed.", label="Test file"
    )
    problem_type: str | None = _f(
        None,
        "single_label_classification, multi_label_classification or regression. Predefined datasets "
        "set it for you.",
        choices=vocab.PROBLEM_TYPES,
        label="Problem Type",
    )
    num_labels: int | None = _f(
        None,
        "Number of classes (classification) or 1 (regression). Predefined datasets set it for you.",
        label="Number of Labels",
    )
    metrics: tuple[str, ...] = _f(
        (),
        "Evaluation metrics, comma separated; empty means the defaults of the problem type.",
        choices=tuple(vocab.METRICS),
        label="Metrics",
    )
    multi_label_format: str = _f(
        "indices",
        "Multi-label only: how the label column lists a protein's labels. 'indices': the class "
        "indices that apply, \"0,3\" (the guide's format). 'multi_hot': one 0/1 per label, "
        '"1,0,0,1" (num_labels entries).',
        choices=vocab.MULTI_LABEL_FORMATS,
        label="Label format",
    )
    sequence_column_name: str = _f(
        "aa_seq", "Column holding the amino-acid sequence.", label="Sequence column"
    )
    label_column_name: str = _f("label", "Column holding the label.", label="Label column")
    normalize: str | None = _f(
        None,
        "Regression only: normalise labels for training ('standard' or 'min_max'). Metrics and "
        "predictions are reported in the original units.",
        choices=vocab.NORMALIZATIONS,
        label="Label normalisation",
    )
    split_ratios: tuple[float, float, float] = _f(
        (0.8, 0.1, 0.1),
        "Train/validation/test fractions used when a dataset comes as one file (seeded, stratified "
        "for classification).",
        label="Split ratios",
    )
    split_method: str = _f(
        "random",
        "How a dataset that comes as one file is split: random (seeded, stratified for classification) "
        "or homology (proteins more than split_identity identical stay in one split, so test measures "
        "generalisation to new proteins). homology also re-splits datasets that come with their splits "
        "(all rows pooled).",
        choices=vocab.SPLIT_METHODS,
        label="Split method",
    )
    split_identity: float = _f(
        0.3,
        "homology split: proteins more identical than this fraction (0.3 = 30%) are kept in the same "
        "split. Identity: identical positions of the best local alignment / length of the shorter "
        "protein.",
        label="Split identity",
    )
    leakage_report: bool = _f(
        True,
        "Data doctor (check, Preview Dataset): align every validation and test protein to the training "
        "proteins and report its highest identity (cached in the save directory).",
        label="Leakage report",
    )
    leakage_identity: float = _f(
        0.9,
        "Data doctor: warn about validation and test proteins at least this identical (fraction, 0.9 = "
        "90%) to a training protein (near-duplicates: their scores are too optimistic).",
        label="Near-duplicate identity",
    )
    max_seq_len: int = _f(
        -1,
        "Longest sequence fed to the model, in residues; longer ones are truncated (never dropped). "
        "-1 means the model's own limit.",
        label="Max Sequence Length",
    )


@dataclass(frozen=True)
class MethodConfig:
    training_method: str = _f(
        "freeze",
        "How the model is fine-tuned: freeze (train the head only), full, plm-lora, dora, adalora, "
        "ia3, plm-qlora (4-bit backbone + LoRA) or ses-adapter (adds structure sequences).",
        choices=methods.names(),
        label="Training Method",
    )
    pooling_method: str = _f(
        "mean",
        "How per-residue embeddings become one vector per protein: mean, attention1d or light_attention.",
        choices=vocab.POOLING_METHODS,
        label="Pooling Method",
    )
    structure_seq: tuple[str, ...] = _f(
        vocab.STRUCTURE_SEQS,
        "ses-adapter only: structure sequence columns to fuse with the sequence (foldseek_seq, ss8_seq).",
        choices=vocab.STRUCTURE_SEQS,
        label="Structure Sequence",
    )
    lora_r: int = _f(
        8, "LoRA rank: the size of the low-rank update; larger trains more parameters.", label="LoRA Rank"
    )
    lora_alpha: float = _f(32, "LoRA alpha: the update is scaled by alpha / rank.", label="LoRA Alpha")
    lora_dropout: float = _f(
        0.1, "Dropout applied to the LoRA input, for regularisation.", label="LoRA Dropout"
    )
    lora_target_modules: tuple[str, ...] = _f(
        (),
        "Module names that get adapters, comma separated; empty means the model family's default "
        "(ESM/BERT: query,key,value; T5/Ankh: q,k,v).",
        label="LoRA Target Modules",
    )


@dataclass(frozen=True)
class BatchConfig:
    batch_mode: str = _f(
        "size",
        "'size': a fixed number of sequences per batch. 'token': a budget of residues per batch, "
        "best when lengths vary a lot.",
        choices=vocab.BATCH_MODES,
        label="Batch Processing Mode",
    )
    batch_size: int = _f(
        16, "Sequences per batch (batch size mode). Lower it on out-of-memory errors.", label="Batch Size"
    )
    batch_token: int = _f(
        10000,
        "Residues (tokens, padding included) per batch (token mode). A longer sequence gets a batch "
        "of its own.",
        label="Tokens per Batch",
    )


@dataclass(frozen=True)
class TrainConfig:
    learning_rate: float = _f(5e-4, "Step size of the AdamW optimizer.", label="Learning Rate")
    num_epochs: int = _f(
        100, "Passes over the training set; early stopping may end training sooner.", label="Number of Epochs"
    )
    patience: int = _f(
        10,
        "Early stopping: stop after this many epochs without a better monitored value.",
        label="Early Stopping Patience",
    )
    monitor: str | None = _f(
        None,
        "Validation metric that picks the best epoch ('loss' or one of the metrics); default per task.",
        label="Monitored metric",
    )
    monitor_strategy: str | None = _f(
        None,
        "'max' or 'min': which direction of the monitor is better; default from the metric.",
        choices=("max", "min"),
        label="Monitor direction",
    )
    scheduler: str | None = _f(
        None,
        "Learning-rate schedule over optimizer steps: linear, cosine, step, or none (constant).",
        choices=vocab.SCHEDULERS,
        label="Scheduler Type",
    )
    warmup_steps: int = _f(
        0, "Optimizer steps over which the learning rate rises from 0 (0: no warmup).", label="Warmup Steps"
    )
    gradient_accumulation_steps: int = _f(
        1,
        "Batches whose gradients are summed before one optimizer step (simulates larger batches).",
        label="Gradient Accumulation Steps",
    )
    max_grad_norm: float = _f(
        -1.0,
        "Clip the gradient norm to this value at each optimizer step; -1 is off.",
        label="Max Gradient Norm",
    )
    num_workers: int = _f(
        min(4, _usable_cpus()),
        "Data loading worker processes; 0 loads in the main process. Default: 4, or the number of "
        "cores on a machine with fewer.",
        label="Number of Workers",
    )
    seed: int = _f(42, "Seed for every source of randomness: same seed, same result.", label="Seed")
    device: str = _f("auto", "auto (CUDA, then MPS, then CPU), cpu, cuda, cuda:N or mps.", label="Device")
    mixed_precision: bool = _f(
        True,
        "Autocast to bf16 where the hardware computes it natively (GPUs with bf16, else fp16; CPUs "
        "with Intel AMX or AVX512-BF16, AMD Zen 4 and newer); float32 elsewhere. Off: float32 on "
        "every device, the same numbers on any machine.",
        label="Mixed precision",
    )
    embedding_cache: bool = _f(
        True,
        "freeze and ses-adapter: compute the frozen backbone once and reuse its outputs every epoch.",
        label="Cache frozen-backbone outputs",
    )
    fsdp: bool = _f(
        False,
        "Under torchrun: shard parameters, gradients and optimizer state across the processes (PyTorch "
        "FSDP) instead of giving each a full copy, for backbones too large for one device (ESM2-15B, "
        "ProtT5-XXL). For full, plm-lora, dora and ia3.",
        label="FSDP sharding",
    )


@dataclass(frozen=True)
class OutputConfig:
    output_dir: str = _f(
        "ckpt", "Save directory: each run gets its own folder inside it.", label="Save Directory"
    )
    run_name: str | None = _f(
        None,
        "Folder name of this run inside the save directory; default is generated.",
        label="Run name",
    )
    output_model_name: str = _f(
        "model.safetensors",
        "File name of the final model (the best epoch's trained tensors) inside the run folder. "
        "Always written in the safetensors format: a .pt/.bin name (the guide's model.pt) becomes "
        ".safetensors.",
        label="Output Model Name",
    )
    wandb: bool = _f(
        False,
        "Log the run to Weights & Biases (respects WANDB_MODE, e.g. offline).",
        label="Enable W&B Logging",
    )
    wandb_project: str | None = _f(None, "W&B project name (default: venus-finetune).", label="W&B Project")
    wandb_entity: str | None = _f(
        None, "W&B entity (user or team); default is your W&B default.", label="W&B Entity"
    )


SECTIONS: dict[str, type] = {
    "model": ModelConfig,
    "data": DataConfig,
    "method": MethodConfig,
    "batch": BatchConfig,
    "train": TrainConfig,
    "output": OutputConfig,
}


@dataclass(frozen=True)
class RunConfig:
    model: ModelConfig = field(default_factory=ModelConfig)
    data: DataConfig = field(default_factory=DataConfig)
    method: MethodConfig = field(default_factory=MethodConfig)
    batch: BatchConfig = field(default_factory=BatchConfig)
    train: TrainConfig = field(default_factory=TrainConfig)
    output: OutputConfig = field(default_factory=OutputConfig)

    # -- flat access: every field name is unique across sections, and is the CLI flag name --------
    def get(self, name: str) -> Any:
        return getattr(getattr(self, FIELD_SECTION[name]), name)

    def with_values(self, **values: Any) -> RunConfig:
        """A copy with some fields replaced, by flat name (``cfg.with_values(lora_r=16)``)."""
        by_section: dict[str, dict[str, Any]] = {}
        for name, value in values.items():
            if name in RETIRED_OPTIONS:
                raise VenusError(f"Option '{name}' was retired: {RETIRED_OPTIONS[name]}.")
            if name not in FIELD_SECTION:
                raise VenusError(f"Unknown option '{name}'. {_nearest_hint(name, FIELD_SECTION)}")
            by_section.setdefault(FIELD_SECTION[name], {})[name] = _coerce(name, value)
        return replace(self, **{s: replace(getattr(self, s), **v) for s, v in by_section.items()})

    def flat(self) -> dict[str, Any]:
        return {name: self.get(name) for name in FIELD_SECTION}

    # -- JSON ---------------------------------------------------------------------------------------
    def to_dict(self) -> dict[str, Any]:
        d: dict[str, Any] = {"config_version": CONFIG_VERSION}
        for section in SECTIONS:
            d[section] = {k: jsonable(v) for k, v in dataclasses.asdict(getattr(self, section)).items()}
        return d

    def to_json(self) -> str:
        return json.dumps(self.to_dict(), indent=2)

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> RunConfig:
        """Accepts the nested form written by ``to_dict`` or a flat ``{flag: value}`` mapping."""
        if not isinstance(d, dict):
            raise VenusError("A run config must be a JSON object.")
        flat: dict[str, Any] = {}
        for key, value in d.items():
            if key == "config_version":
                if value != CONFIG_VERSION:
                    raise VenusError(
                        f"Config version {value} is not supported (this tool writes {CONFIG_VERSION})."
                    )
            elif key in SECTIONS and isinstance(value, dict):
                flat.update(value)
            else:
                flat[key] = value
        for key in RETIRED_OPTIONS:
            flat.pop(key, None)
        return cls().with_values(**flat)

    @classmethod
    def load(cls, path: str | Path) -> RunConfig:
        path = Path(path)
        try:
            data = json.loads(path.read_text(encoding="utf-8"))
        except FileNotFoundError:
            raise VenusError(f"Config file {path} does not exist.") from None
        except (json.JSONDecodeError, UnicodeDecodeError) as e:
            raise VenusError(f"Config file {path} is not valid JSON: {e}.") from None
        return cls.from_dict(data)

    # -- validation ----------------------------------------------------------------------------------
    def problems(self) -> list[str]:
        """Every problem with this config, as actionable sentences (empty when valid)."""
        return _problems(self)

    def validate(self) -> RunConfig:
        problems = self.problems()
        if problems:
            raise VenusError("Invalid configuration:\n- " + "\n- ".join(problems))
        return self


FIELD_SECTION: dict[str, str] = {}
FIELD_INFO: dict[str, dataclasses.Field] = {}
for _section, _cls in SECTIONS.items():
    for _fld in fields(_cls):
        assert _fld.name not in FIELD_SECTION, f"duplicate option name {_fld.name}"
        FIELD_SECTION[_fld.name] = _section
        FIELD_INFO[_fld.name] = _fld


def field_label(name: str) -> str:
    """The option's name on the dashboard (the guide's control names: "Batch Size", ...)."""
    return FIELD_INFO[name].metadata["label"]


def field_help(name: str) -> str:
    """Help text of one option, for CLI ``--help`` and dashboard widgets."""
    return FIELD_INFO[name].metadata["help"]


def field_default(name: str) -> Any:
    return FIELD_INFO[name].default


def _nearest_hint(name: str, options: Any) -> str:
    import difflib

    close = difflib.get_close_matches(name, list(options), n=1)
    return f"Did you mean '{close[0]}'?" if close else ""


def _coerce(name: str, value: Any) -> Any:
    """Turn JSON/CLI values into the field's type; raise VenusError naming the option otherwise."""
    fld = FIELD_INFO[name]
    t = str(fld.type)
    optional = "None" in t
    if value is None or (
        optional and isinstance(value, str) and value.strip().lower() in ("", "none", "null")
    ):
        if optional:
            return None
        raise VenusError(f"Option '{name}' needs a value (default: {fld.default!r}).")
    try:
        if t.startswith("tuple[float"):
            items = value.split(",") if isinstance(value, str) else list(value)
            return tuple(float(x) for x in items)
        if t.startswith("tuple"):
            items = value.split(",") if isinstance(value, str) else list(value)
            items = [str(x).strip() for x in items if str(x).strip()]
            if name == "metrics":
                items = [vocab.canonical_metric(x) for x in items]
            return tuple(items)
        if t.startswith("bool"):
            if isinstance(value, str):
                low = value.strip().lower()
                if low in ("1", "true", "yes", "on"):
                    return True
                if low in ("0", "false", "no", "off"):
                    return False
                raise ValueError(value)
            if isinstance(value, (bool, int)) and value in (0, 1):
                return bool(value)
            raise ValueError(value)
        if t.startswith("int"):
            if isinstance(value, bool):
                raise ValueError(value)
            if isinstance(value, float) and not value.is_integer():
                raise ValueError(value)
            return int(value)
        if t.startswith("float"):
            if isinstance(value, bool):
                raise ValueError(value)
            return float(value)
        if t.startswith("str"):
            value = str(value).strip()
            if name == "training_method":
                value = methods.canonical(value)
            if name in ("scheduler",) and value.lower() == "none":
                return None
            return value
    except (TypeError, ValueError):
        kind = t.split("|")[0].strip()
        raise VenusError(f"Option '{name}' must be of type {kind}; got {value!r}.") from None
    return value


def _problems(cfg: RunConfig) -> list[str]:
    p: list[str] = []
    d, m, b, t, o = cfg.data, cfg.method, cfg.batch, cfg.train, cfg.output

    def choice(name: str, value: Any, options: tuple) -> None:
        if value is not None and value not in options:
            hint = _nearest_hint(str(value), options)
            p.append(f"{name} '{value}' is not one of {', '.join(options)}. {hint}".rstrip())

    if not cfg.model.plm_model:
        p.append("plm_model is empty: choose a model (see `python -m venus_core models`).")
    if not (d.dataset or d.train_file):
        p.append("No data: set dataset (a predefined name, hub id or folder) or train_file.")
    if (d.valid_file or d.test_file) and not d.train_file:
        p.append("valid_file/test_file need a train_file too.")
    choice("problem_type", d.problem_type, vocab.PROBLEM_TYPES)
    if d.num_labels is not None:
        if d.num_labels < 1:
            p.append(f"num_labels must be at least 1; got {d.num_labels}.")
        elif d.problem_type == "regression" and d.num_labels != 1:
            p.append(f"regression predicts one value: num_labels must be 1, got {d.num_labels}.")
        elif (
            d.problem_type in ("single_label_classification", "multi_label_classification")
            and d.num_labels < 2
        ):
            p.append(f"{d.problem_type} needs num_labels >= 2; got {d.num_labels}.")
    for metric in d.metrics:
        if metric not in vocab.METRICS:
            p.append(f"Unknown metric '{metric}'. Choose from {', '.join(vocab.METRICS)}.")
        elif d.problem_type and d.problem_type not in vocab.METRICS[metric].problem_types:
            valid = [k for k, s in vocab.METRICS.items() if d.problem_type in s.problem_types]
            p.append(f"Metric '{metric}' does not apply to {d.problem_type}; use one of {', '.join(valid)}.")
    choice("multi_label_format", d.multi_label_format, vocab.MULTI_LABEL_FORMATS)
    if (
        d.multi_label_format == "multi_hot"
        and d.problem_type
        and d.problem_type != "multi_label_classification"
    ):
        p.append("multi_label_format multi_hot only applies to multi-label labels; set it to indices.")
    choice("normalize", d.normalize, vocab.NORMALIZATIONS)
    if d.normalize and d.problem_type and d.problem_type != "regression":
        p.append("normalize only applies to regression labels; unset it for classification.")
    if (
        len(d.split_ratios) != 3
        or any(r < 0 for r in d.split_ratios)
        or not math.isclose(sum(d.split_ratios), 1.0)
    ):
        p.append(f"split_ratios must be three non-negative fractions summing to 1; got {d.split_ratios}.")
    elif d.split_ratios[0] <= 0 or d.split_ratios[1] <= 0:
        p.append("split_ratios needs a positive train and validation fraction.")
    choice("split_method", d.split_method, vocab.SPLIT_METHODS)
    for name in ("split_identity", "leakage_identity"):
        value = getattr(d, name)
        if not 0 < value <= 1:
            hint = f" (a fraction: {value / 100:g} for {value:g}%)" if 1 < value <= 100 else ""
            p.append(f"{name} must be a fraction in (0, 1]{hint}; got {value}.")
    if d.max_seq_len != -1 and d.max_seq_len < 1:
        p.append(f"max_seq_len must be -1 (no limit) or a positive number of residues; got {d.max_seq_len}.")

    choice("training_method", m.training_method, methods.names())
    choice("pooling_method", m.pooling_method, vocab.POOLING_METHODS)
    for s in m.structure_seq:
        choice("structure_seq", s, vocab.STRUCTURE_SEQS)
    method = methods.METHODS.get(m.training_method)
    if method is not None:
        p.extend(method.problems(cfg))
    if m.lora_r < 1:
        p.append(f"lora_r must be a positive integer; got {m.lora_r}.")
    if m.lora_alpha <= 0:
        p.append(f"lora_alpha must be positive; got {m.lora_alpha}.")
    if not 0 <= m.lora_dropout < 1:
        p.append(f"lora_dropout must be in [0, 1); got {m.lora_dropout}.")

    choice("batch_mode", b.batch_mode, vocab.BATCH_MODES)
    if b.batch_size < 1:
        p.append(f"batch_size must be at least 1; got {b.batch_size}.")
    if b.batch_token < 1:
        p.append(f"batch_token must be at least 1; got {b.batch_token}.")

    if not (t.learning_rate > 0 and math.isfinite(t.learning_rate)):
        p.append(f"learning_rate must be a positive number; got {t.learning_rate}.")
    if t.num_epochs < 1:
        p.append(f"num_epochs must be at least 1; got {t.num_epochs}.")
    if t.patience < 1:
        p.append(f"patience must be at least 1; got {t.patience}.")
    if t.monitor is not None and t.monitor != "loss":
        if t.monitor not in vocab.METRICS:
            p.append(f"monitor '{t.monitor}' is not 'loss' or a metric ({', '.join(vocab.METRICS)}).")
        elif d.metrics and t.monitor not in d.metrics:
            p.append(
                f"monitor '{t.monitor}' is not among the computed metrics ({', '.join(d.metrics)}); add it."
            )
    choice("monitor_strategy", t.monitor_strategy, ("max", "min"))
    choice("scheduler", t.scheduler, vocab.SCHEDULERS)
    if t.warmup_steps < 0:
        p.append(f"warmup_steps must be 0 or more; got {t.warmup_steps}.")
    if t.gradient_accumulation_steps < 1:
        p.append(f"gradient_accumulation_steps must be at least 1; got {t.gradient_accumulation_steps}.")
    if t.max_grad_norm != -1 and t.max_grad_norm <= 0:
        p.append(f"max_grad_norm must be -1 (off) or positive; got {t.max_grad_norm}.")
    if t.num_workers < 0:
        p.append(f"num_workers must be 0 or more; got {t.num_workers}.")
    if t.fsdp and method is not None and method.fsdp_refusal:
        *others, last = [x.name for x in methods.METHODS.values() if not x.fsdp_refusal]
        shardable = f"{', '.join(others)} or {last}"
        p.append(
            f"fsdp does not apply to {m.training_method}: {method.fsdp_refusal} "
            f"Turn fsdp off, or choose {shardable}."
        )
    if not (t.device == "auto" or t.device in ("cpu", "mps", "cuda") or t.device.startswith("cuda:")):
        p.append(f"device '{t.device}' is not auto, cpu, cuda, cuda:N or mps.")

    p.extend(_path_problems(o))
    if o.wandb_project is not None and not o.wandb_project.strip():
        p.append("wandb_project is empty.")
    return p


def _path_problems(o: OutputConfig) -> list[str]:
    """The run name and model file name must stay inside the save directory."""
    p = []
    if not o.output_dir.strip():
        p.append("output_dir (save directory) is empty.")
    for name, value in (("run_name", o.run_name), ("output_model_name", o.output_model_name)):
        if value is None:
            continue
        bad = (
            not value.strip()
            or value in (".", "..")
            or "/" in value
            or "\\" in value
            or value.startswith("~")
            or "\x00" in value
        )
        if bad:
            p.append(f"{name} '{value}' must be a plain file or folder name (no '/', '\\', '..' or '~').")
    return p
