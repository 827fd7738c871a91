"""The same-work check (tests/test_peer.cpp): `steps` batches in order, no shuffle, one thread;
the final loss and the parameter sum must match the C++ loop on the same libtorch."""
import time

import torch

import pb_common
from pb_common import param


def measure(point, _min_time):
    kind, steps = param(point, "model", str), param(point, "steps")
    batch, samples = param(point, "batch"), param(point, "samples")
    if steps < 1:
        raise pb_common.JobError(f"point '{point['name']}': steps must be at least 1")
    if batch < 1 or samples % batch != 0:
        raise pb_common.JobError(f"point '{point['name']}': samples must be a multiple of batch")
    (inputs, targets), _ = pb_common.make_synthetic_split(kind, samples, 1, 0)
    torch.set_num_threads(1)
    torch.manual_seed(0)
    model = pb_common.make_model(kind)
    optimizer = pb_common.make_optimizer(kind, model.parameters())
    loss = None
    start = time.perf_counter()
    for step in range(steps):
        begin = (step * batch) % samples
        optimizer.zero_grad()
        loss = pb_common.compute_loss(kind, model(inputs[begin:begin + batch]), targets[begin:begin + batch])
        loss.backward()
        optimizer.step()
    param_sum = sum(p.detach().sum().item() for p in model.parameters())  # float sums, as C++
    seconds = time.perf_counter() - start
    return steps, seconds, {"final_loss": loss.item(), "param_sum": param_sum}
