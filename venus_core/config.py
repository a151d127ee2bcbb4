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
from dataclasses import dataclass, field, fields, replace
from pathlib import Path
from typing import Any

from venus_core import methods, vocab
from venus_core.config_sections import (
    SECTIONS,
    BatchConfig,
    DataConfig,
    MethodConfig,
    ModelConfig,
    OutputConfig,
    TrainConfig,
)
from venus_core.errors import VenusError
from venus_core.i18n import N_
from venus_core.jsonvalues import jsonable

CONFIG_VERSION = 1
# Options earlier versions wrote into run folders' config.json, ignored when such a file is read
# (so old runs still evaluate, predict and resume): the reason each was retired.
RETIRED_OPTIONS = {
    "cpu_bf16": "mixed_precision now autocasts to bf16 on every CPU that computes bf16 natively",
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
    return N_("Did you mean '{name}'?").format(name=close[0]) if close else ""


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
        raise VenusError(
            N_("Option '{name}' needs a value (default: {default}).").format(
                name=name, default=repr(fld.default)
            )
        )
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
        raise VenusError(
            N_("Option '{name}' must be of type {kind}; got {value}.").format(
                name=name, kind=kind, value=repr(value)
            )
        ) from None
    return value


def _problems(cfg: RunConfig) -> list[str]:
    p = _data_problems(cfg) + _method_problems(cfg) + _train_problems(cfg)
    o = cfg.output
    p.extend(_path_problems(o))
    if o.wandb_project is not None and not o.wandb_project.strip():
        p.append(N_("wandb_project is empty."))
    return p


def _choice(p: list[str], name: str, value: Any, options: tuple) -> None:
    """Adds a problem to ``p`` when ``value`` (set) is not one of ``options``."""
    if value is not None and value not in options:
        hint = _nearest_hint(str(value), options)
        problem = N_("{name} '{value}' is not one of {options}.")
        if hint:
            problem = N_("{name} '{value}' is not one of {options}. {hint}")
        p.append(problem.format(name=name, value=value, options=", ".join(options), hint=hint))


def _data_problems(cfg: RunConfig) -> list[str]:
    p: list[str] = []
    d = cfg.data
    if not cfg.model.plm_model:
        p.append(N_("plm_model is empty: choose a model (see `python -m venus_core models`)."))
    if not (d.dataset or d.train_file):
        p.append(N_("No data: set dataset (a predefined name, hub id or folder) or train_file."))
    if (d.valid_file or d.test_file) and not d.train_file:
        p.append(N_("valid_file/test_file need a train_file too."))
    _choice(p, "problem_type", d.problem_type, vocab.PROBLEM_TYPES)
    if d.num_labels is not None:
        if d.num_labels < 1:
            p.append(N_("num_labels must be at least 1; got {value}.").format(value=d.num_labels))
        elif d.problem_type == "regression" and d.num_labels != 1:
            p.append(
                N_("regression predicts one value: num_labels must be 1, got {value}.").format(
                    value=d.num_labels
                )
            )
        elif (
            d.problem_type in ("single_label_classification", "multi_label_classification")
            and d.num_labels < 2
        ):
            p.append(
                N_("{problem_type} needs num_labels >= 2; got {value}.").format(
                    problem_type=d.problem_type, value=d.num_labels
                )
            )
    for metric in d.metrics:
        if metric not in vocab.METRICS:
            p.append(
                N_("Unknown metric '{metric}'. Choose from {options}.").format(
                    metric=metric, options=", ".join(vocab.METRICS)
                )
            )
        elif d.problem_type and d.problem_type not in vocab.METRICS[metric].problem_types:
            valid = [k for k, s in vocab.METRICS.items() if d.problem_type in s.problem_types]
            p.append(
                N_("Metric '{metric}' does not apply to {problem_type}; use one of {options}.").format(
                    metric=metric, problem_type=d.problem_type, options=", ".join(valid)
                )
            )
    return p + _format_and_split_problems(cfg)


def _format_and_split_problems(cfg: RunConfig) -> list[str]:
    p: list[str] = []
    d = cfg.data
    _choice(p, "multi_label_format", d.multi_label_format, vocab.MULTI_LABEL_FORMATS)
    if (
        d.multi_label_format == "multi_hot"
        and d.problem_type
        and d.problem_type != "multi_label_classification"
    ):
        p.append(N_("multi_label_format multi_hot only applies to multi-label labels; set it to indices."))
    _choice(p, "normalize", d.normalize, vocab.NORMALIZATIONS)
    if d.normalize and d.problem_type and d.problem_type != "regression":
        p.append(N_("normalize only applies to regression labels; unset it for classification."))
    if (
        len(d.split_ratios) != 3
        or any(r < 0 for r in d.split_ratios)
        or not math.isclose(sum(d.split_ratios), 1.0)
    ):
        p.append(
            N_("split_ratios must be three non-negative fractions summing to 1; got {value}.").format(
                value=d.split_ratios
            )
        )
    elif d.split_ratios[0] <= 0 or d.split_ratios[1] <= 0:
        p.append(N_("split_ratios needs a positive train and validation fraction."))
    _choice(p, "split_method", d.split_method, vocab.SPLIT_METHODS)
    for name in ("split_identity", "leakage_identity"):
        value = getattr(d, name)
        if not 0 < value <= 1:
            if 1 < value <= 100:
                problem = N_(
                    "{name} must be a fraction in (0, 1] (a fraction: {fraction:g} for {percent:g}%); "
                    "got {value}."
                )
            else:
                problem = N_("{name} must be a fraction in (0, 1]; got {value}.")
            p.append(problem.format(name=name, value=value, fraction=value / 100, percent=value))
    if d.max_seq_len != -1 and d.max_seq_len < 1:
        p.append(
            N_("max_seq_len must be -1 (no limit) or a positive number of residues; got {value}.").format(
                value=d.max_seq_len
            )
        )
    return p


def _method_problems(cfg: RunConfig) -> list[str]:
    p: list[str] = []
    m = cfg.method
    _choice(p, "training_method", m.training_method, methods.names())
    _choice(p, "pooling_method", m.pooling_method, vocab.POOLING_METHODS)
    for s in m.structure_seq:
        _choice(p, "structure_seq", s, vocab.STRUCTURE_SEQS)
    method = methods.METHODS.get(m.training_method)
    if method is not None:
        p.extend(method.problems(cfg))
    if m.lora_r < 1:
        p.append(N_("lora_r must be a positive integer; got {value}.").format(value=m.lora_r))
    if m.lora_alpha <= 0:
        p.append(N_("lora_alpha must be positive; got {value}.").format(value=m.lora_alpha))
    if not 0 <= m.lora_dropout < 1:
        p.append(N_("lora_dropout must be in [0, 1); got {value}.").format(value=m.lora_dropout))
    return p


def _train_problems(cfg: RunConfig) -> list[str]:
    p: list[str] = []
    d, m, b, t = cfg.data, cfg.method, cfg.batch, cfg.train
    method = methods.METHODS.get(m.training_method)
    _choice(p, "batch_mode", b.batch_mode, vocab.BATCH_MODES)
    if b.batch_size < 1:
        p.append(N_("{name} must be at least 1; got {value}.").format(name="batch_size", value=b.batch_size))
    if b.batch_token < 1:
        p.append(
            N_("{name} must be at least 1; got {value}.").format(name="batch_token", value=b.batch_token)
        )

    if not (t.learning_rate > 0 and math.isfinite(t.learning_rate)):
        p.append(N_("learning_rate must be a positive number; got {value}.").format(value=t.learning_rate))
    if t.num_epochs < 1:
        p.append(N_("{name} must be at least 1; got {value}.").format(name="num_epochs", value=t.num_epochs))
    if t.patience < 1:
        p.append(N_("{name} must be at least 1; got {value}.").format(name="patience", value=t.patience))
    if t.monitor is not None and t.monitor != "loss":
        if t.monitor not in vocab.METRICS:
            p.append(
                N_("monitor '{monitor}' is not 'loss' or a metric ({options}).").format(
                    monitor=t.monitor, options=", ".join(vocab.METRICS)
                )
            )
        elif d.metrics and t.monitor not in d.metrics:
            p.append(
                N_("monitor '{monitor}' is not among the computed metrics ({metrics}); add it.").format(
                    monitor=t.monitor, metrics=", ".join(d.metrics)
                )
            )
    _choice(p, "monitor_strategy", t.monitor_strategy, ("max", "min"))
    _choice(p, "scheduler", t.scheduler, vocab.SCHEDULERS)
    if t.warmup_steps < 0:
        p.append(
            N_("{name} must be 0 or more; got {value}.").format(name="warmup_steps", value=t.warmup_steps)
        )
    if t.gradient_accumulation_steps < 1:
        p.append(
            N_("{name} must be at least 1; got {value}.").format(
                name="gradient_accumulation_steps", value=t.gradient_accumulation_steps
            )
        )
    if t.max_grad_norm != -1 and t.max_grad_norm <= 0:
        p.append(N_("max_grad_norm must be -1 (off) or positive; got {value}.").format(value=t.max_grad_norm))
    if t.num_workers < 0:
        p.append(N_("{name} must be 0 or more; got {value}.").format(name="num_workers", value=t.num_workers))
    if t.fsdp and method is not None and method.fsdp_refusal:
        *others, last = [x.name for x in methods.METHODS.values() if not x.fsdp_refusal]
        p.append(
            N_("fsdp does not apply to {method}: {why} Turn fsdp off, or choose {others} or {last}.").format(
                method=m.training_method, why=method.fsdp_refusal, others=", ".join(others), last=last
            )
        )
    if not (t.device == "auto" or t.device in ("cpu", "mps", "cuda") or t.device.startswith("cuda:")):
        p.append(N_("device '{device}' is not auto, cpu, cuda, cuda:N or mps.").format(device=t.device))
    return p


def _path_problems(o: OutputConfig) -> list[str]:
    """The run name and model file name must stay inside the save directory."""
    p = []
    if not o.output_dir.strip():
        p.append(N_("output_dir (save directory) is empty."))
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
            p.append(
                N_(
                    "{name} '{value}' must be a plain file or folder name (no '/', '\\', '..' or '~')."
                ).format(name=name, value=value)
            )
    return p
