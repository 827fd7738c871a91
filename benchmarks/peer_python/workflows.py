"""The workflows a peer job can name, each a module with measure(point, min_time) and, where a
point may not run on this machine, skip_reason(point)."""
import check
import cpu_training
import data_parallel
import ddp
import gpu_training

RUNNERS = {"cpu_training": cpu_training, "data_parallel": data_parallel, "ddp": ddp, "gpu_training": gpu_training,
           "check": check}
