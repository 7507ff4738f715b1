"""FedAvg over harmofl sites: Flower's own strategy, harmofl's initial model as a PyTorch state_dict.

HarmoFL needs nothing more on the server: AmpNorm's running amplitude (``amp_norm.running_amp``)
is one more array FedAvg averages, and weight perturbation happens on the sites.
"""

import json
import time
from collections import OrderedDict
from logging import INFO
from pathlib import Path

import numpy as np
from flwr.app import Array, ArrayRecord, ConfigRecord, Context
from flwr.common import log
from flwr.serverapp import Grid, ServerApp
from flwr.serverapp.strategy import FedAvg

app = ServerApp()


def load_initial_arrays(folder: str) -> ArrayRecord:
    """Read the state_dict harmofl exported (names in model order, one .npy per array)."""
    root = Path(folder)
    names = json.loads((root / "state_dict.json").read_text())["names"]
    return ArrayRecord(
        OrderedDict((name, Array(np.load(root / f"{i:04d}.npy"))) for i, name in enumerate(names))
    )


def record_bytes(arrays: ArrayRecord) -> int:
    """Bytes of array data one site receives (and sends back) per round."""
    return sum(len(a.data) for a in arrays.values())


class LoggingFedAvg(FedAvg):
    """FedAvg that logs each round's payload size and time (the figures of the README)."""

    def configure_train(self, server_round, arrays, config, grid):
        self._started = time.time()
        log(INFO, "round %d: global model %d array bytes per site and direction", server_round, record_bytes(arrays))
        return super().configure_train(server_round, arrays, config, grid)

    def aggregate_evaluate(self, server_round, replies):
        metrics = super().aggregate_evaluate(server_round, replies)
        log(INFO, "round %d done in %.1f s", server_round, time.time() - self._started)
        return metrics


@app.main()
def main(grid: Grid, context: Context) -> None:
    """Run FedAvg for `num-server-rounds` rounds from harmofl's exported initial model."""
    cfg = context.run_config
    arrays = load_initial_arrays(str(cfg["initial-arrays"]))
    strategy = LoggingFedAvg(
        min_train_nodes=int(cfg["min-nodes"]),
        min_evaluate_nodes=int(cfg["min-nodes"]),
        min_available_nodes=int(cfg["min-nodes"]),
    )
    result = strategy.start(
        grid=grid,
        initial_arrays=arrays,
        num_rounds=int(cfg["num-server-rounds"]),
        timeout=float(cfg["round-timeout"]),
        train_config=ConfigRecord({"lr": float(cfg["lr"])}),
        evaluate_config=ConfigRecord(),
    )
    for rnd, metrics in result.train_metrics_clientapp.items():
        log(INFO, "train metrics round %d: %s", rnd, dict(metrics))
    for rnd, metrics in result.evaluate_metrics_clientapp.items():
        log(INFO, "evaluate metrics round %d: %s", rnd, dict(metrics))
