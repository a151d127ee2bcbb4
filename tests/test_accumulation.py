"""Gradient accumulation weighs examples, not micro-batches: with uneven micro-batches (token
batching) an accumulated optimizer step equals one step on a single batch of the same examples."""

from __future__ import annotations

import copy

import pytest
import torch
from conftest import NUM_LABELS, write_toy_dataset
from torch import nn

from venus_core import loop as trainer
from venus_core.backbones import hidden_size_of
from venus_core.batching import accumulation_group_sizes, accumulation_weights
from venus_core.config import RunConfig
from venus_core.data import load_data
from venus_core.distributed import Dist
from venus_core.metrics import loss_fn
from venus_core.modeling import build_model
from venus_core.pipeline import encode_split

PROBLEM_TYPES = list(NUM_LABELS)
UNEVEN = [[0, 1], [2, 3, 4, 5, 6, 7]]  # the micro-batches of 2 and 6 sequences
WHOLE = [list(range(8))]


def test_weights_count_examples_of_the_whole_group() -> None:
    sizes = [2, 6, 3, 1, 5]
    assert accumulation_group_sizes(sizes, 2) == [8, 4, 5]
    assert accumulation_weights(sizes, 2, [8, 4, 5]) == [2 / 8, 6 / 8, 3 / 4, 1 / 4, 1.0]
    # Two processes: each group counts both processes' examples; DDP then averages gradients.
    assert accumulation_weights([2, 6], 2, [12], world_size=2) == [4 / 12, 12 / 12]


@pytest.mark.parametrize("problem_type", PROBLEM_TYPES)
def test_two_processes_average_to_one_big_batch(problem_type: str) -> None:
    """DDP's average of the processes' accumulated gradients, weighted by the global example count,
    is the gradient of one batch of every example (simulated: the ranks' gradients are averaged here)."""
    torch.manual_seed(0)
    model = nn.Linear(5, NUM_LABELS[problem_type])
    x = torch.randn(12, 5)
    y = _targets(problem_type, 12)
    criterion = loss_fn(problem_type)
    ranks = [[[0, 1], [2, 3, 4, 5, 6, 7]], [[8, 9, 10], [11]]]  # uneven within and across ranks
    per_rank_sizes = [accumulation_group_sizes([len(b) for b in r], 2) for r in ranks]
    totals = [sum(group) for group in zip(*per_rank_sizes, strict=True)]  # what all_sum gives each rank

    def grad(batches: list[list[int]], weights: list[float]) -> torch.Tensor:
        model.zero_grad()
        for idx, w in zip(batches, weights, strict=True):
            (criterion(model(x[idx]), y[idx]) * w).backward()
        return model.weight.grad.clone()

    per_rank = [grad(r, accumulation_weights([len(b) for b in r], 2, totals, world_size=2)) for r in ranks]
    whole = grad([list(range(12))], [1.0])
    torch.testing.assert_close(sum(per_rank) / 2, whole, atol=1e-6, rtol=1e-5)


def _targets(problem_type: str, n: int) -> torch.Tensor:
    gen = torch.Generator().manual_seed(1)
    if problem_type == "single_label_classification":
        return torch.randint(0, 2, (n,), generator=gen)
    if problem_type == "multi_label_classification":
        return torch.randint(0, 2, (n, 3), generator=gen).float()
    return torch.randn(n, generator=gen)


class _Log:
    def emit(self, *args, **kwargs) -> None:
        pass


def _one_step(model, split, cfg: RunConfig, batches: list[list[int]], monkeypatch) -> tuple[dict, float]:
    """Parameters minus those after one ``train_epoch`` whose batches are ``batches`` (with SGD at
    learning rate 1 that is the accumulated gradient), and the epoch's reported train loss."""
    monkeypatch.setattr(trainer, "rank_batches", lambda *args: batches)
    before = {n: p.detach().clone() for n, p in model.named_parameters() if p.requires_grad}
    loss, _ = trainer.train_epoch(_loop(model, cfg), split, 1, trainer.LoopState(), None)
    delta = {n: before[n] - p.detach() for n, p in model.named_parameters() if p.requires_grad}
    return delta, loss


def _loop(model, cfg: RunConfig) -> trainer.Loop:
    """A loop of one SGD step at learning rate 1 (parameters move by the accumulated gradient)."""
    params = [p for p in model.parameters() if p.requires_grad]
    optimizer = torch.optim.SGD(params, lr=1.0)
    return trainer.Loop(
        cfg=cfg,
        model=model,
        ddp=model,
        optimizer=optimizer,
        scheduler=torch.optim.lr_scheduler.LambdaLR(optimizer, lambda step: 1.0),
        scaler=torch.amp.GradScaler("cuda", enabled=False),
        device=torch.device("cpu"),
        d=Dist(),
        total_steps=1,
        log=_Log(),
        stop=lambda: False,
    )


def _full_tuning_without_dropout(tiny_esm, tmp_path, problem_type: str):
    """(config, built model, encoded train split) for `full` on 8 toy proteins, dropout off: two
    ways of running the same step must compute the same function."""
    data_dir = write_toy_dataset(tmp_path / "data", problem_type, 8, 4)
    cfg = RunConfig().with_values(
        plm_model=str(tiny_esm),
        dataset=str(data_dir),
        problem_type=problem_type,
        num_labels=NUM_LABELS[problem_type],
        training_method="full",  # gradients through the backbone too
        num_workers=0,
        max_grad_norm=-1,
    )
    task = load_data(cfg)
    torch.manual_seed(0)
    built = build_model(cfg, torch.device("cpu"), total_steps=1)
    for module in built.model.modules():
        if isinstance(module, nn.Dropout):
            module.p = 0.0  # the two runs must compute the same function
    split = encode_split(task.splits["train"], task, "train", built.tokenizer, cfg)
    return cfg, built, split


@pytest.mark.parametrize("problem_type", PROBLEM_TYPES)
def test_accumulated_step_equals_one_big_batch(tiny_esm, tmp_path, monkeypatch, problem_type: str) -> None:
    cfg, built, split = _full_tuning_without_dropout(tiny_esm, tmp_path, problem_type)
    model_b = copy.deepcopy(built.model)

    accumulated, loss_a = _one_step(
        built.model, split, cfg.with_values(gradient_accumulation_steps=2), UNEVEN, monkeypatch
    )
    whole, loss_b = _one_step(model_b, split, cfg, WHOLE, monkeypatch)
    worst = max((accumulated[n] - whole[n]).abs().max().item() for n in whole)
    assert worst < 1e-5, f"accumulated and one-batch gradients differ by up to {worst:.3g}"
    assert loss_a == pytest.approx(loss_b, rel=1e-5)  # the logged loss is the mean per example


@pytest.mark.parametrize("problem_type", PROBLEM_TYPES)
def test_a_step_cut_into_pieces_equals_one_big_batch(
    tiny_esm, tmp_path, monkeypatch, problem_type: str
) -> None:
    """On a CPU a large batch runs as pieces (``batching.CPU_PIECE_ELEMENTS``: why); the optimizer
    step and the logged loss must be those of the whole batch."""
    from venus_core import batching

    cfg, built, split = _full_tuning_without_dropout(tiny_esm, tmp_path, problem_type)
    model_b = copy.deepcopy(built.model)
    ordered = sorted(range(8), key=lambda i: split.lengths[i])  # as make_batches leaves a batch
    widths = batching.padded_lengths(split.lengths)
    budget = int(2 * widths.max())  # two or three sequences a piece
    assert len(batching.split_batch(ordered, widths, budget)) >= 3  # the step really is cut

    width = hidden_size_of(built.model.backbone)
    monkeypatch.setattr(batching, "CPU_PIECE_ELEMENTS", budget * width)
    assert trainer.piece_tokens(_loop(built.model, cfg), None) == budget
    assert trainer.piece_tokens(_loop(built.model, cfg), cached=object()) is None  # only a head runs
    pieces, loss_a = _one_step(built.model, split, cfg, [ordered], monkeypatch)
    monkeypatch.setattr(batching, "CPU_PIECE_ELEMENTS", 10**12)
    whole, loss_b = _one_step(model_b, split, cfg, [ordered], monkeypatch)
    worst = max((pieces[n] - whole[n]).abs().max().item() for n in whole)
    assert worst < 1e-5, f"a step in pieces and in one pass differ by up to {worst:.3g}"
    assert loss_a == pytest.approx(loss_b, rel=1e-5)


def test_inference_in_pieces_gives_the_same_logits(tiny_esm, tmp_path, monkeypatch) -> None:
    """Validation, test and predict run a CPU batch in the same pieces as training; every example's
    logits must be those of the whole batch, in the split's order."""
    from venus_core import batching, evaluation
    from venus_core.distributed import Dist

    data_dir = write_toy_dataset(tmp_path / "data", "single_label_classification", 8, 4)
    cfg = RunConfig().with_values(
        plm_model=str(tiny_esm),
        dataset=str(data_dir),
        problem_type="single_label_classification",
        num_labels=2,
        batch_size=8,
        num_workers=0,
    )
    task = load_data(cfg)
    torch.manual_seed(0)
    built = build_model(cfg, torch.device("cpu"), total_steps=1)
    model = built.model
    split = encode_split(task.splits["train"], task, "train", built.tokenizer, cfg)
    forward, calls = model.forward, []
    monkeypatch.setattr(model, "forward", lambda **kw: calls.append(1) or forward(**kw))

    def logits(elements: int) -> tuple[torch.Tensor, int]:
        monkeypatch.setattr(batching, "CPU_PIECE_ELEMENTS", elements)
        calls.clear()
        out = evaluation._logits(model, split, cfg, torch.device("cpu"), None, None, Dist())
        return out, len(calls)

    width = hidden_size_of(model.backbone)
    budget = int(2 * batching.padded_lengths(split.lengths).max())
    pieces, n_pieces = logits(budget * width)
    whole, n_whole = logits(10**12)
    assert n_whole == 1 and n_pieces >= 3
    torch.testing.assert_close(pieces, whole, atol=1e-5, rtol=1e-5)
