"""Shared pieces of the Python peer: the C++ data, models, losses, optimizers and result rows."""
import math
import platform
import time

import torch
import torch.nn as nn
import torch.nn.functional as F

PEER_PREFIX = "peer_python/"


class JobError(Exception):
    """A job the peer cannot run: reported as one line, exit code 2."""


def make_synthetic_split(kind, train_size, val_size, seed):
    """common/data.cpp's make_synthetic_split, op for op: bit-identical tensors on the same libtorch."""
    g = torch.Generator()
    g.manual_seed(seed)
    n = train_size + val_size
    classes = output_size(kind)
    if kind == "cnn":
        # Smooth class patterns: a 4x4 draw per class and channel, upsampled, standard deviation 1.
        coarse = torch.randn(classes, 3, 4, 4, generator=g)
        patterns = F.interpolate(coarse, size=(32, 32), mode="bilinear", align_corners=False)
        patterns = patterns / patterns.std()
        labels = torch.randint(0, classes, (n,), generator=g, dtype=torch.long)
        inputs = torch.randn(n, 3, 32, 32, generator=g) + 2.0 * patterns.index_select(0, labels)
    else:
        teacher = torch.randn(10, classes, generator=g)
        inputs = torch.randn(n, 10, generator=g)
        labels = inputs.mm(teacher).argmax(1)
    targets = F.one_hot(labels, classes).float() if kind == "mlp" else labels
    train = (inputs[:train_size].contiguous(), targets[:train_size].contiguous())
    val = (inputs[train_size:].contiguous(), targets[train_size:].contiguous())
    return train, val


def output_size(kind):
    return 10 if kind == "cnn" else 2


class LinearModel(nn.Module):
    """Source 000: Linear(10, 2)."""

    def __init__(self):
        super().__init__()
        self.fc = nn.Linear(10, 2)

    def forward(self, x):
        return self.fc(x)


class Mlp(nn.Module):
    """Source 001: 10-5-2 with ReLU, float inputs and targets (the source's int64 ones raise)."""

    def __init__(self):
        super().__init__()
        self.fc1 = nn.Linear(10, 5)
        self.fc2 = nn.Linear(5, 2)

    def forward(self, x):
        return self.fc2(F.relu(self.fc1(x)))


class Cnn(nn.Module):
    """Source 002 with its flatten error fixed: 2x2 pooling after each convolution, flatten(1)."""

    def __init__(self):
        super().__init__()
        self.conv1 = nn.Conv2d(3, 64, 3, padding=1)
        self.conv2 = nn.Conv2d(64, 64, 3, padding=1)
        self.fc1 = nn.Linear(64 * 8 * 8, 512)
        self.fc2 = nn.Linear(512, 10)

    def forward(self, x):
        x = F.max_pool2d(F.relu(self.conv1(x)), 2)
        x = F.max_pool2d(F.relu(self.conv2(x)), 2)
        return self.fc2(F.relu(self.fc1(x.flatten(1))))


MODELS = {"linear": LinearModel, "mlp": Mlp, "cnn": Cnn}


def make_model(kind):
    """Same registration order as common/models.h, so torch.manual_seed(0) gives the same weights."""
    if kind not in MODELS:
        raise JobError(f"unknown model '{kind}' (expected linear, mlp or cnn)")
    return MODELS[kind]()


def compute_loss(kind, output, target):
    return F.mse_loss(output, target) if kind == "mlp" else F.cross_entropy(output, target)


def make_optimizer(kind, parameters):
    """common/train.cpp's source_optimizer_options."""
    if kind == "cnn":
        return torch.optim.SGD(parameters, lr=0.001, momentum=0.9)
    return torch.optim.SGD(parameters, lr=0.01)


def synchronize(device):
    if device.type == "cuda":
        torch.cuda.synchronize(device)


def timed_iterations(run_one, min_time, device):
    """Google Benchmark's way: iterations until min_time has passed (at least one); (n, seconds)."""
    synchronize(device)
    start = time.perf_counter()
    n = 0
    while True:
        run_one()
        n += 1
        synchronize(device)
        elapsed = time.perf_counter() - start
        if elapsed >= min_time:
            return n, elapsed


def param(point, key, kind=int):
    """A required point parameter of the given type."""
    if key not in point:
        raise JobError(f"point '{point.get('name', '?')}' has no '{key}'")
    value = point[key]
    if kind is int and (isinstance(value, bool) or not isinstance(value, int)):
        raise JobError(f"point '{point.get('name', '?')}': '{key}' must be an integer, got {value!r}")
    if kind is str and not isinstance(value, str):
        raise JobError(f"point '{point.get('name', '?')}': '{key}' must be a string, got {value!r}")
    return value


def run_row(point, repetitions, index, iterations, seconds, counters):
    """One repetition as a Google Benchmark run: real_time per iteration in ms, plus counters."""
    name = PEER_PREFIX + point["name"]
    per_iteration_ms = seconds / max(iterations, 1) * 1e3
    row = {"name": name, "run_name": name, "run_type": "iteration", "repetitions": repetitions,
           "repetition_index": index, "threads": 1, "iterations": iterations,
           "real_time": per_iteration_ms, "cpu_time": per_iteration_ms, "time_unit": "ms"}
    row.update(counters)
    return row


def aggregate_rows(rows):
    """Google Benchmark's mean and median aggregates of the repetitions of one point."""
    if len(rows) < 2:
        return []
    keys = [k for k, v in rows[0].items() if isinstance(v, float) or k == "real_time"]
    out = []
    for stat in ("mean", "median"):
        agg = dict(rows[0])
        agg.update({"name": rows[0]["run_name"] + "_" + stat, "run_type": "aggregate",
                    "aggregate_name": stat, "aggregate_unit": "time"})
        agg.pop("repetition_index", None)
        agg["iterations"] = len(rows)  # as Google Benchmark
        for k in keys:
            values = sorted(r[k] for r in rows)
            n = len(values)
            if stat == "mean":
                agg[k] = sum(values) / n
            else:
                agg[k] = values[n // 2] if n % 2 else (values[n // 2 - 1] + values[n // 2]) / 2
        out.append(agg)
    return out


def error_row(point, repetitions, message):
    name = PEER_PREFIX + str(point.get("name", "?"))
    return {"name": name, "run_name": name, "run_type": "iteration", "repetitions": repetitions,
            "repetition_index": 0, "threads": 1, "iterations": 0, "real_time": 0, "cpu_time": 0,
            "time_unit": "ms", "error_occurred": True, "error_message": message}


def context():
    info = torch.__config__.parallel_info().strip().splitlines()
    return {"peer_python_version": platform.python_version(), "peer_torch_version": torch.__version__,
            "peer_torch_cuda": torch.version.cuda or "none",
            "peer_torch_parallel_info": "; ".join(line.strip() for line in info[:4])}


def finite(rows):
    """Rows with NaN and infinities as None: JSON has no token for them (a diverged loss is null)."""
    def clean(v):
        return None if isinstance(v, float) and not math.isfinite(v) else v
    return [{k: clean(v) for k, v in row.items()} for row in rows]
