"""RunConfig: defaults from the guide, help text, validation messages, JSON and CLI round trips."""

from __future__ import annotations

import json
import os
import shlex

import pytest

from venus_core import config as C
from venus_core import datasets, vocab
from venus_core.cli import build_parser, config_from_args, preview_command
from venus_core.config import RunConfig
from venus_core.errors import VenusError

GUIDE_DEFAULTS = {
    "learning_rate": 5e-4,
    "num_epochs": 100,
    "patience": 10,
    "batch_size": 16,
    "batch_token": 10000,
    "lora_r": 8,
    "lora_alpha": 32,
    "lora_dropout": 0.1,
    "scheduler": None,
    "warmup_steps": 0,
    "gradient_accumulation_steps": 1,
    "max_grad_norm": -1.0,
    "num_workers": min(4, len(os.sched_getaffinity(0))),  # the guide's 4, or the machine's cores
    "output_dir": "ckpt",
    "output_model_name": "model.safetensors",  # the guide's model.pt, in the format it is written in
    "wandb": False,
    "max_seq_len": -1,
    "structure_seq": ("foldseek_seq", "ss8_seq"),
    "training_method": "freeze",
    "pooling_method": "mean",
    "batch_mode": "size",
}

VF_FLAGS = [
    "plm_model",
    "dataset",
    "dataset_config",
    "train_file",
    "valid_file",
    "test_file",
    "problem_type",
    "num_labels",
    "metrics",
    "sequence_column_name",
    "label_column_name",
    "training_method",
    "pooling_method",
    "structure_seq",
    "lora_r",
    "lora_alpha",
    "lora_dropout",
    "lora_target_modules",
    "batch_size",
    "batch_token",
    "learning_rate",
    "num_epochs",
    "patience",
    "monitor",
    "monitor_strategy",
    "max_seq_len",
    "scheduler",
    "warmup_steps",
    "gradient_accumulation_steps",
    "max_grad_norm",
    "num_workers",
    "output_dir",
    "output_model_name",
    "wandb",
    "wandb_project",
    "wandb_entity",
    "seed",
]


def parse(argv: list[str]) -> RunConfig:
    return config_from_args(build_parser().parse_args(["train", *argv]))


@pytest.mark.parametrize(("name", "value"), GUIDE_DEFAULTS.items())
def test_guide_defaults(name, value):
    assert RunConfig().get(name) == value


def test_every_field_has_help():
    for name in C.FIELD_INFO:
        assert len(C.field_help(name)) > 15, name


def test_every_venusfactory_flag_is_accepted():
    assert set(VF_FLAGS) <= set(C.FIELD_SECTION)
    parser = build_parser()
    for flag in VF_FLAGS:
        assert any(
            f"--{flag}" in a.option_strings
            for a in parser._subparsers._group_actions[0].choices["train"]._actions
        )


def test_json_round_trip(tmp_path):
    cfg = RunConfig().with_values(lora_r=16, metrics="accuracy,mcc", scheduler="cosine", wandb=True, seed=7)
    assert RunConfig.from_dict(json.loads(cfg.to_json())) == cfg
    path = tmp_path / "run.json"
    path.write_text(cfg.to_json())
    assert RunConfig.load(path) == cfg
    # A flat {flag: value} JSON works too.
    path.write_text(json.dumps({"lora_r": 4, "training_method": "plm-lora"}))
    assert RunConfig.load(path).method.lora_r == 4


def test_cli_flags_and_config_file(tmp_path):
    cfg = parse(
        ["--training_method", "plm-dora", "--metrics", "accuracy,f1max", "--batch_token", "2000", "--wandb"]
    )
    assert cfg.method.training_method == "dora"  # the reference CLI's alias
    assert cfg.data.metrics == ("accuracy", "f1_max")
    assert cfg.batch.batch_mode == "token" and cfg.batch.batch_token == 2000
    assert cfg.output.wandb is True
    path = tmp_path / "run.json"
    path.write_text(cfg.to_json())
    again = parse(["--config", str(path), "--lora_r", "4"])
    assert again.method.lora_r == 4 and again.method.training_method == "dora"


@pytest.mark.parametrize(
    "values",
    [
        {},
        {"training_method": "plm-lora", "lora_target_modules": "q,k,v", "learning_rate": 1e-3},
        {"dataset": "my data/with space", "run_name": "a'b", "wandb": True, "wandb_project": "p q"},
        {"scheduler": "cosine", "metrics": "mcc,auroc", "max_grad_norm": 1.0, "mixed_precision": False},
    ],
)
def test_preview_command_reproduces_the_config(values):
    cfg = RunConfig().with_values(**values)
    # One option per line, continued with backslashes: the shell joins the lines (as here).
    argv = shlex.split(preview_command(cfg).replace("\\\n", ""))
    assert argv[:4] == ["python", "-m", "venus_core", "train"]
    assert parse(argv[4:]) == cfg


def test_preview_command_multi_gpu():
    assert preview_command(RunConfig(), nproc=4).startswith(
        "torchrun --standalone --nproc_per_node=4 -m venus_core"
    )


@pytest.mark.parametrize(
    ("values", "phrase"),
    [
        ({"learning_rate": 0}, "learning_rate must be a positive"),
        ({"num_epochs": 0}, "num_epochs must be at least 1"),
        ({"batch_size": 0}, "batch_size must be at least 1"),
        ({"num_workers": -1}, "num_workers must be 0 or more"),
        ({"max_grad_norm": 0}, "max_grad_norm must be -1"),
        ({"lora_dropout": 1.5}, "lora_dropout must be in"),
        ({"training_method": "lorra"}, "training_method 'lorra' is not one of"),
        ({"pooling_method": "max"}, "pooling_method 'max' is not one of"),
        ({"problem_type": "regression", "num_labels": 3}, "num_labels must be 1"),
        ({"problem_type": "single_label_classification", "num_labels": 1}, "needs num_labels >= 2"),
        ({"problem_type": "regression", "metrics": "accuracy"}, "does not apply to regression"),
        ({"metrics": "foo"}, "Unknown metric 'foo'"),
        (
            {"problem_type": "single_label_classification", "metrics": "accuracy,exact_match"},
            "Metric 'subset_accuracy' does not apply to single_label_classification",
        ),
        ({"monitor": "mcc", "metrics": "accuracy"}, "not among the computed metrics"),
        ({"run_name": "../evil"}, "must be a plain file or folder name"),
        ({"output_model_name": "/etc/passwd"}, "must be a plain file or folder name"),
        ({"run_name": ".."}, "must be a plain file or folder name"),
        ({"split_ratios": "0.5,0.5,0.5"}, "split_ratios must be three"),
        ({"device": "tpu"}, "device 'tpu'"),
        ({"dataset": None}, "No data"),
        ({"fsdp": True}, "fsdp does not apply to freeze"),
        ({"fsdp": True, "training_method": "plm-qlora"}, "fsdp does not apply to plm-qlora"),
        ({"fsdp": True, "training_method": "adalora"}, "fsdp does not apply to adalora"),
        ({"fsdp": True, "training_method": "ses-adapter", "structure_seq": "foldseek_seq"}, "fsdp does not"),
    ],
)
def test_validation_messages(values, phrase):
    with pytest.raises(VenusError, match=phrase):
        RunConfig().with_values(**values).validate()


def test_fsdp_applies_to_methods_that_train_the_backbone():
    for method in ("full", "plm-lora", "dora", "ia3"):
        RunConfig().with_values(fsdp=True, training_method=method).validate()


@pytest.mark.parametrize(
    ("name", "value", "phrase"),
    [
        ("lora_r", "eight", "must be of type int"),
        ("learning_rate", "fast", "must be of type float"),
        ("wandb", "maybe", "must be of type bool"),
        ("lora_rank", 8, "Unknown option 'lora_rank'. Did you mean 'lora_r'"),
        ("cpu_bf16", True, "Option 'cpu_bf16' was retired: mixed_precision now autocasts to bf16"),
    ],
)
def test_bad_values(name, value, phrase):
    with pytest.raises(VenusError, match=phrase):
        RunConfig().with_values(**{name: value})


def test_a_saved_config_with_a_retired_option_still_loads(tmp_path):
    """Run folders written before cpu_bf16 was folded into mixed_precision still evaluate and resume."""
    saved = RunConfig().with_values(num_epochs=7).to_dict()
    saved["train"]["cpu_bf16"] = False
    path = tmp_path / "config.json"
    path.write_text(json.dumps(saved))
    loaded = RunConfig.load(path)
    assert loaded.train.num_epochs == 7 and loaded.train.mixed_precision


def test_resolve_task_from_catalogue_and_defaults():
    cfg = datasets.resolve_task(RunConfig().with_values(dataset="DeepLocBinary"))
    assert cfg.data.dataset == "AI4Protein/DeepLocBinary"
    assert cfg.data.problem_type == "single_label_classification" and cfg.data.num_labels == 2
    assert cfg.train.monitor == "accuracy" and cfg.train.monitor_strategy == "max"
    reg = datasets.resolve_task(RunConfig().with_values(dataset="x/y", problem_type="regression"))
    assert reg.data.num_labels == 1 and reg.data.metrics == vocab.DEFAULT_METRICS["regression"]
    assert reg.train.monitor == "spearman_corr" and reg.train.monitor_strategy == "max"
    mse = datasets.resolve_task(
        RunConfig().with_values(dataset="x/y", problem_type="regression", monitor="mse")
    )
    assert mse.train.monitor_strategy == "min"


def test_user_settings_beat_the_catalogue():
    cfg = datasets.resolve_task(
        RunConfig().with_values(dataset="DeepLocBinary", metrics="mcc", monitor="mcc")
    )
    assert cfg.data.metrics == ("mcc",) and cfg.train.monitor == "mcc"


def test_contradicting_monitor_strategy_is_refused():
    with pytest.raises(VenusError, match="use monitor_strategy min"):
        datasets.resolve_task(
            RunConfig().with_values(
                dataset="x/y", problem_type="regression", monitor="mse", monitor_strategy="max"
            )
        )


def test_missing_problem_type_is_explained():
    with pytest.raises(VenusError, match="problem_type is not set"):
        datasets.resolve_task(RunConfig().with_values(dataset="someone/custom"))


def test_venusfactory_dataset_config(tmp_path):
    path = tmp_path / "ds.json"
    path.write_text(
        json.dumps(
            {
                "dataset": "someone/thermo",
                "num_labels": 1,
                "problem_type": "regression",
                "metrics": "spearman_corr,mse",
                "monitor": "mse",
                "monitor_strategy": "min",
                "normalize": "standard",
                "sequence_column_name": "seq",
                "label_column_name": "tm",
            }
        )
    )
    cfg = datasets.resolve_task(RunConfig().with_values(dataset=None, dataset_config=str(path)))
    assert cfg.data.dataset == "someone/thermo" and cfg.data.normalize == "standard"
    assert cfg.data.sequence_column_name == "seq" and cfg.train.monitor == "mse"
    path.write_text(json.dumps({"dataset": "x", "problemtype": "regression"}))
    with pytest.raises(VenusError, match="unknown keys"):
        datasets.resolve_task(RunConfig().with_values(dataset_config=str(path)))


def test_split_files_do_not_inherit_the_default_demo(tmp_path):
    cfg = datasets.resolve_task(RunConfig().with_values(train_file="x.csv", problem_type="regression"))
    assert cfg.data.dataset is None and cfg.data.num_labels == 1
    assert cfg.data.metrics == vocab.DEFAULT_METRICS["regression"]


def test_unknown_problem_type_is_a_clear_error():
    with pytest.raises(VenusError, match="problem_type 'classification' is not one of"):
        datasets.resolve_task(RunConfig().with_values(dataset="x/y", problem_type="classification"))
