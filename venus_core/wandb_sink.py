"""Optional Weights & Biases logging, hung off the event stream (no ``if wandb`` in the loop).

Respects ``WANDB_MODE`` (``offline`` needs no network). API keys are read by wandb itself from its
own settings or ``WANDB_API_KEY``; they are never copied into configs, events or logs.
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

from venus_core.config import RunConfig


class WandbSink:
    def __init__(self, cfg: RunConfig, run_dir: Path):
        self.cfg, self.run_dir, self.run = cfg, Path(run_dir), None
        self.failed = False

    def __call__(self, event: dict[str, Any]) -> None:
        if self.failed:
            return
        try:
            self._handle(event)
        except Exception as e:  # W&B trouble must never stop training
            self.failed = True
            print(f"warning: W&B logging disabled: {type(e).__name__}: {e}", file=sys.stderr)

    def _handle(self, event: dict[str, Any]) -> None:
        kind = event["type"]
        if kind == "run_start":
            import wandb

            o = self.cfg.output
            self.run = wandb.init(
                project=o.wandb_project or "venus-finetune",
                entity=o.wandb_entity,
                name=self.run_dir.name,
                dir=str(self.run_dir),
                config=self.cfg.to_dict(),
                reinit="finish_previous",
            )
            self.run.summary.update({f"model/{k}": v for k, v in event["model_stats"].items()})
        elif self.run is None:
            return
        elif kind == "step":
            self.run.log(
                {"train/loss": event["train/loss"], "train/lr": event["lr"], "epoch": event["epoch"]},
                step=event["step"],
            )
        elif kind == "epoch":
            self.run.log(
                {k: v for k, v in event.items() if "/" in k and v is not None} | {"epoch": event["epoch"]}
            )
        elif kind == "best":
            self.run.summary.update(
                {"best/epoch": event["epoch"], f"best/{event['monitor']}": event["value"]}
            )
        elif kind == "test":
            self.run.summary.update({k: v for k, v in event.items() if k.startswith("test/")})
        elif kind == "status":
            self.run.summary["status"] = event["status"]
            self.close()

    def close(self) -> None:
        if self.run is not None:
            self.run.finish(exit_code=0 if self.run.summary.get("status") == "completed" else 1)
            self.run = None
