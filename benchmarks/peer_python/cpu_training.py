"""Source 000 in Python, as benchmarks/cpu_training.cpp measures it: one iteration is one epoch
through torch.utils.data.DataLoader(TensorDataset, shuffle=True, num_workers=W), the source's own
loader. Its workers are processes, started anew every epoch (the source does not ask for
persistent_workers), and each batch is built from per-sample __getitem__ and pickled across;
libtorch's workers are threads, started once."""
import torch
from torch.utils.data import DataLoader, TensorDataset

import pb_common
from pb_common import param


def measure(point, min_time):
    kind = param(point, "model", str)
    workers, threads = param(point, "workers"), param(point, "threads")
    batch_size, samples = param(point, "batch_size"), param(point, "train_samples")
    # The C++ benchmark draws a validation split too; the same size gives the same training data.
    (inputs, targets), _ = pb_common.make_synthetic_split(kind, samples, param(point, "val_samples"), param(point, "seed"))
    torch.set_num_threads(threads)
    torch.manual_seed(0)
    model = pb_common.make_model(kind)
    optimizer = pb_common.make_optimizer(kind, model.parameters())
    loader = DataLoader(TensorDataset(inputs, targets), batch_size=batch_size, shuffle=True, num_workers=workers)
    last = {}

    def epoch():
        loss_sum, seen = 0.0, 0
        for x, y in loader:
            optimizer.zero_grad()
            loss = pb_common.compute_loss(kind, model(x), y)
            loss.backward()
            optimizer.step()
            loss_sum += loss.item() * x.shape[0]
            seen += x.shape[0]
        if seen != samples:
            raise RuntimeError(f"lost or duplicated samples: an epoch saw {seen} of {samples}")
        last["loss"] = loss_sum / seen

    epoch()  # warm-up, as the C++ benchmark
    iterations, seconds = pb_common.timed_iterations(epoch, min_time, torch.device("cpu"))
    return iterations, seconds, {"samples_per_s": samples * iterations / seconds, "final_loss": last["loss"]}
