"""The fine-tuning methods are plugins: one module each, found by the registry, asked by the rest."""

from __future__ import annotations

import subprocess
import sys
import textwrap

import pytest

from venus_core import methods
from venus_core.config import RunConfig
from venus_core.errors import VenusError

GUIDE_ORDER = ("freeze", "full", "plm-lora", "dora", "adalora", "ia3", "plm-qlora", "ses-adapter")


def test_every_method_of_the_guide_is_registered_in_its_order():
    assert methods.names() == GUIDE_ORDER
    for name, method in methods.METHODS.items():
        assert method.name == name and method.label.startswith(name), name


@pytest.mark.parametrize(
    ("alias", "name"), [("plm-dora", "dora"), ("plm-adalora", "adalora"), ("lora", "plm-lora")]
)
def test_the_reference_cli_spellings_are_accepted(alias, name):
    assert methods.get_method(alias).name == name
    assert RunConfig().with_values(training_method=alias).method.training_method == name


def test_an_unknown_method_is_refused_with_the_choices():
    with pytest.raises(VenusError, match="Unknown training method 'lorra'. Choose from freeze, full"):
        methods.get_method("lorra")
    assert any(
        "training_method 'lorra' is not one of" in p
        for p in RunConfig().with_values(training_method="lorra").problems()
    )


def test_asking_the_registry_loads_no_training_stack():
    """Config validation, the CLI and the pages ask every method for its name, options and
    refusals: that must not import torch or peft."""
    code = "import sys, venus_core.methods, venus_core.config; "
    code += "print('torch' in sys.modules, 'peft' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.split() == ["False", "False"]


def test_a_new_method_is_one_module(tmp_path, monkeypatch):
    """Adding a method is adding a file to the package: the registry finds it, the config accepts
    it, its refusals and options are asked for like any other's."""
    (tmp_path / "toy.py").write_text(
        textwrap.dedent(
            """
            from venus_core.methods._base import Method

            class Toy(Method):
                name = "toy"
                order = 15
                label = "toy — a method of the test"
                fields = ("lora_r",)
                fsdp_refusal = "toys are not sharded."

                def problems(self, cfg):
                    return ["toy needs lora_r 4."] if cfg.method.lora_r != 4 else []

                def prepare(self, backbone, cfg, arch, total_steps):
                    backbone.requires_grad_(False)
                    return backbone

            METHOD = Toy()
            """
        )
    )
    monkeypatch.setattr(methods, "__path__", [*methods.__path__, str(tmp_path)])
    found = methods._discover()
    assert list(found)[:3] == ["freeze", "toy", "full"]  # in its declared place
    monkeypatch.setattr(methods, "METHODS", found)
    cfg = RunConfig().with_values(training_method="freeze")
    toy = cfg.with_values(training_method="toy", fsdp=True)
    problems = toy.problems()
    assert "toy needs lora_r 4." in problems
    assert any("fsdp does not apply to toy: toys are not sharded." in p for p in problems)


def test_methods_say_what_they_support():
    """What the trainer, the cache and FSDP ask of a method, from the method itself."""
    frozen = {m.name for m in methods.METHODS.values() if m.frozen_backbone}
    assert frozen == {"freeze", "ses-adapter"}  # the embedding cache applies to these
    sharded = {m.name for m in methods.METHODS.values() if not m.fsdp_refusal}
    assert sharded == {"full", "plm-lora", "dora", "ia3"}
    assert methods.get_method("plm-qlora").counted_as() is methods.get_method("plm-lora")
    lora_family = {m.name for m in methods.METHODS.values() if "lora_r" in m.fields}
    assert lora_family == {"plm-lora", "dora", "adalora", "plm-qlora"}
