"""Source 002 in Python, as benchmarks/data_parallel.cpp measures it: one iteration is one training
step of `batch` samples from a dataset on the CPU, on one device (mode "single") or through
nn.DataParallel (mode "upstream", the source's way; it needs CUDA and one replica per GPU)."""
import torch
import torch.nn as nn

import pb_common
from pb_common import param

# The C++ point's mode, in the words of its run name (mode:single, mode:upstream).
SINGLE, UPSTREAM = "single", "upstream"


def skip_reason(point):
    mode, device = param(point, "mode", str), param(point, "device", str)
    if mode not in (SINGLE, UPSTREAM):
        return f"mode '{mode}' has no Python counterpart (persistent or re-cloned replicas are the C++ strategies)"
    if mode == UPSTREAM and device != "cuda":
        return "nn.DataParallel needs CUDA"
    if device == "cuda":
        if not torch.cuda.is_available():
            return "CUDA unavailable to this torch"
        gpus = max(1, param(point, "gpus"))
        if torch.cuda.device_count() < gpus:
            return f"needs {gpus} GPUs, this machine has {torch.cuda.device_count()}"
        if mode == UPSTREAM and param(point, "replicas") != gpus:
            return "nn.DataParallel places one replica per GPU: replicas sharing a GPU cannot be expressed"
    return ""


def measure(point, min_time):
    kind, mode = param(point, "model", str), param(point, "mode", str)
    batch, samples = param(point, "batch"), param(point, "samples")
    device = torch.device("cuda:0" if param(point, "device", str) == "cuda" else "cpu")
    (inputs, targets), _ = pb_common.make_synthetic_split(kind, samples, 1, 0)
    torch.set_num_threads(param(point, "threads"))
    torch.manual_seed(0)
    model = pb_common.make_model(kind).to(device)
    optimizer = pb_common.make_optimizer(kind, model.parameters())
    if mode == UPSTREAM:
        model = nn.DataParallel(model, device_ids=list(range(param(point, "gpus"))))
    state = {"offset": 0, "loss": 0.0}

    def step():
        offset = state["offset"]
        x, y = inputs[offset:offset + batch], targets[offset:offset + batch]
        state["offset"] = (offset + batch) % (samples - batch + 1)  # as the C++ benchmark
        optimizer.zero_grad()
        loss = pb_common.compute_loss(kind, model(x.to(device)), y.to(device))
        loss.backward()
        optimizer.step()
        state["loss"] = loss.item()  # the C++ side reads the loss every step too

    for _ in range(param(point, "warmup_steps")):
        step()
    iterations, seconds = pb_common.timed_iterations(step, min_time, device)
    return iterations, seconds, {"samples_per_s": batch * iterations / seconds, "final_loss": state["loss"]}
