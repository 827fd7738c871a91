"""Source 001 on a GPU in Python, as benchmarks/gpu_training.cpp measures it: one iteration is one
training step of `batch` samples, fed by one input pipeline (pageable, pinned, resident or
prefetch on a side stream) and run eagerly or as a CUDA graph (torch.cuda.graph: warm-up on a
side stream, static input, target and loss tensors). The data cycles through samples // batch
batches in order; GPU work is waited for at the end of each timed run, not after every step."""
import collections
import time

import torch

import pb_common
from pb_common import param

PIPELINES = ("pageable", "pinned", "resident", "prefetch")


def skip_reason(point):
    device, pipeline = param(point, "device", str), param(point, "pipeline", str)
    execution = param(point, "execution", str)
    if pipeline not in PIPELINES:
        raise pb_common.JobError(f"point '{point['name']}': unknown pipeline '{pipeline}'")
    if execution not in ("eager", "graph"):
        raise pb_common.JobError(f"point '{point['name']}': unknown execution '{execution}'")
    if device == "cuda":
        return "" if torch.cuda.is_available() else "CUDA unavailable to this torch"
    if pipeline in ("pinned", "prefetch"):
        return f"pipeline '{pipeline}' needs a CUDA device"
    if execution == "graph":
        return "CUDA graphs need a CUDA device"
    return ""


class Prefetcher:
    """Batch i+1 copied on a side stream while step i computes; the consumer's stream waits on an
    event, and record_stream keeps the allocator from reusing a batch that compute still reads."""

    def __init__(self, batch_at, device):
        self.batch_at, self.device = batch_at, device
        self.stream = torch.cuda.Stream(device)
        self.queue = collections.deque()
        self.step = 0
        self._start()

    def _start(self):
        x, y = self.batch_at(self.step)
        self.step += 1
        with torch.cuda.stream(self.stream):
            xd, yd = x.to(self.device, non_blocking=True), y.to(self.device, non_blocking=True)
            ready = torch.cuda.Event()
            ready.record(self.stream)
        self.queue.append((xd, yd, ready))

    def next(self):
        x, y, ready = self.queue.popleft()
        current = torch.cuda.current_stream(self.device)
        current.wait_event(ready)
        x.record_stream(current)
        y.record_stream(current)
        self._start()
        return x, y


def make_graph_step(kind, model, optimizer, x0, y0, warmup_steps):
    """The training step captured once, replayed per batch (the CUDA graphs documentation's
    whole-network capture, with gradients zeroed in place inside the graph as the C++ side does)."""
    static_x, static_y = x0.clone(), y0.clone()
    params = list(model.parameters())
    state = {}

    def body():
        for p in params:
            if p.grad is not None:
                p.grad.zero_()
        loss = pb_common.compute_loss(kind, model(static_x), static_y)
        loss.backward()
        optimizer.step()
        state["loss"] = loss.detach()

    side = torch.cuda.Stream()
    side.wait_stream(torch.cuda.current_stream())
    with torch.cuda.stream(side):
        for _ in range(max(1, warmup_steps)):
            body()
    torch.cuda.current_stream().wait_stream(side)
    graph = torch.cuda.CUDAGraph()
    with torch.cuda.graph(graph):
        body()

    def step(x, y):
        static_x.copy_(x, non_blocking=True)
        static_y.copy_(y, non_blocking=True)
        graph.replay()
        return state["loss"]

    return step


def timed_steps(step, min_time, device):
    """Google Benchmark's way: runs of n steps, the device waited for at the end of each run, n
    grown until a run lasts min_time; returns (n, seconds, last loss)."""
    n = 1
    while True:
        pb_common.synchronize(device)
        start = time.perf_counter()
        loss = None
        for _ in range(n):
            loss = step()
        pb_common.synchronize(device)
        elapsed = time.perf_counter() - start
        if elapsed >= min_time:
            return n, elapsed, loss
        n = max(n + 1, min(10 * n, int(1.4 * n * min_time / max(elapsed, 1e-9))))


def measure(point, min_time):
    kind, batch, samples = param(point, "model", str), param(point, "batch"), param(point, "samples")
    pipeline, execution = param(point, "pipeline", str), param(point, "execution", str)
    device = torch.device("cuda:0" if param(point, "device", str) == "cuda" else "cpu")
    if batch < 1 or samples < batch:
        raise pb_common.JobError(f"point '{point['name']}': batch must be between 1 and samples")
    (inputs, targets), _ = pb_common.make_synthetic_split(kind, samples, 1, 0)
    batches = samples // batch
    inputs, targets = inputs[:batches * batch].contiguous(), targets[:batches * batch].contiguous()
    if pipeline in ("pinned", "prefetch"):
        inputs, targets = inputs.pin_memory(), targets.pin_memory()
    elif pipeline == "resident":
        inputs, targets = inputs.to(device, copy=True), targets.to(device, copy=True)
    torch.set_num_threads(param(point, "threads"))
    torch.manual_seed(0)
    model = pb_common.make_model(kind).to(device)
    optimizer = pb_common.make_optimizer(kind, model.parameters())

    def stored(i):
        begin = (i % batches) * batch
        return inputs[begin:begin + batch], targets[begin:begin + batch]

    counter = {"step": 0}
    if pipeline == "prefetch":
        prefetcher = Prefetcher(stored, device)
        next_batch = prefetcher.next
    else:
        def next_batch():
            x, y = stored(counter["step"])
            counter["step"] += 1
            if pipeline == "resident":
                return x, y
            return x.to(device, non_blocking=pipeline == "pinned"), y.to(device, non_blocking=pipeline == "pinned")

    if execution == "graph":
        x0, y0 = stored(0)
        graph_step = make_graph_step(kind, model, optimizer, x0.to(device), y0.to(device), param(point, "warmup_steps"))

        def step():
            return graph_step(*next_batch())
    else:
        def step():
            x, y = next_batch()
            optimizer.zero_grad()
            loss = pb_common.compute_loss(kind, model(x), y)
            loss.backward()
            optimizer.step()
            return loss.detach()

    for _ in range(param(point, "warmup_steps")):
        step()
    iterations, seconds, loss = timed_steps(step, min_time, device)
    return iterations, seconds, {"samples_per_s": batch * iterations / seconds, "steps_per_s": iterations / seconds,
                                 "final_loss": loss.item()}
