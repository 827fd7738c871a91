"""DDP in Python, as the ddp_cpu/ddp_cuda training of benchmarks/ddp_training.cpp measures it:
torch's DistributedDataParallel (buckets, all-reduce overlapped with backward) on `ranks`
processes, Gloo on CPUs, NCCL with one GPU per rank. One repetition is one launch; rank 0 times
`steps` steps after `warmup_steps` and a barrier, as the C++ rank 0 does."""
import datetime
import multiprocessing
import os
import socket
import time

import torch
import torch.distributed as dist
from torch.nn.parallel import DistributedDataParallel

import pb_common
from pb_common import param

# Rendezvous and collective timeout inside the ranks, and how long the parent waits for a launch.
TIMEOUT_S = 120


def skip_reason(point):
    if param(point, "device", str) == "cuda":
        if not torch.cuda.is_available():
            return "CUDA unavailable to this torch"
        if not dist.is_nccl_available():
            return "this torch has no NCCL"
        if torch.cuda.device_count() < param(point, "ranks"):
            return f"needs {param(point, 'ranks')} GPUs (one rank per GPU), this machine has {torch.cuda.device_count()}"
    return ""


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def rank_main(rank, point, port, queue):
    """One rank: train; rank 0 puts {"seconds", "loss"} on the queue, a failing rank {"error"}."""
    try:
        train_rank(rank, point, port, queue)
    except Exception as e:
        queue.put({"error": f"rank {rank}: {type(e).__name__}: " + " ".join(str(e).split())[:200]})
        raise SystemExit(1)


def train_rank(rank, point, port, queue):
    kind, ranks = point["model"], point["ranks"]
    batch, samples = point["batch_per_rank"], point["samples"]
    os.environ.update({"MASTER_ADDR": "127.0.0.1", "MASTER_PORT": str(port)})
    torch.set_num_threads(point["threads"])
    cuda = point["device"] == "cuda"
    device = torch.device(f"cuda:{rank}" if cuda else "cpu")
    if cuda:
        torch.cuda.set_device(device)
    dist.init_process_group("nccl" if cuda else "gloo", rank=rank, world_size=ranks,
                            timeout=datetime.timedelta(seconds=TIMEOUT_S))
    (inputs, targets), _ = pb_common.make_synthetic_split(kind, samples, 1, 0)
    inputs, targets = inputs.to(device), targets.to(device)
    torch.manual_seed(0)
    model = DistributedDataParallel(pb_common.make_model(kind).to(device), device_ids=[rank] if cuda else None,
                                    bucket_cap_mb=point["bucket_kib"] / 1024)
    optimizer = pb_common.make_optimizer(kind, model.parameters())
    global_batch = ranks * batch
    steps_per_epoch = max(1, samples // global_batch)
    warmup, steps = point["warmup_steps"], point["steps"]
    start = 0.0
    for step in range(warmup + steps):
        if step == warmup:  # everyone starts the clock together
            dist.barrier()
            pb_common.synchronize(device)
            start = time.perf_counter()
        begin = (step % steps_per_epoch) * global_batch + rank * batch
        optimizer.zero_grad()
        index = torch.arange(begin, begin + batch).to(device)  # as the C++ rank: an index, then a gather
        loss = pb_common.compute_loss(kind, model(inputs.index_select(0, index)), targets.index_select(0, index))
        loss.backward()
        optimizer.step()
    dist.barrier()
    pb_common.synchronize(device)
    seconds = time.perf_counter() - start
    if rank == 0:
        queue.put({"seconds": seconds, "loss": loss.item()})
    dist.destroy_process_group()


def measure(point, _min_time):
    for key in ("ranks", "threads", "bucket_kib", "batch_per_rank", "steps", "warmup_steps", "samples"):
        param(point, key)
    pb_common.make_model(param(point, "model", str))  # a bad model is a bad job, before any launch
    ranks = point["ranks"]
    if min(ranks, point["steps"], point["batch_per_rank"]) < 1 or point["samples"] < ranks * point["batch_per_rank"]:
        raise pb_common.JobError(f"point '{point['name']}': needs ranks, steps, batch_per_rank >= 1 and "
                                 "samples >= ranks x batch_per_rank")
    context = multiprocessing.get_context("spawn")
    queue = context.Queue()
    port = free_port()
    procs = [context.Process(target=rank_main, args=(r, point, port, queue)) for r in range(ranks)]
    for p in procs:
        p.start()
    deadline = time.monotonic() + 2 * TIMEOUT_S
    failed = None
    while any(p.is_alive() for p in procs) and failed is None:
        failed = next((r for r, p in enumerate(procs) if p.exitcode not in (None, 0)), None)
        if time.monotonic() > deadline:
            failed = "timeout"
        time.sleep(0.05)
    failed = failed if failed is not None else next((r for r, p in enumerate(procs) if p.exitcode != 0), None)
    for p in procs:  # a failed rank must not leave the others waiting in a collective
        if p.is_alive():
            p.terminate()
        p.join()
    reply = queue.get(timeout=10) if failed != "timeout" and not queue.empty() else {}
    if failed is not None or "error" in reply:
        raise RuntimeError(reply.get("error") or (f"rank {failed} failed" if failed != "timeout" else "launch timed out"))
    result = reply
    samples = ranks * point["batch_per_rank"] * point["steps"]
    return 1, result["seconds"], {"samples_per_s": samples / result["seconds"], "final_loss": result["loss"]}
