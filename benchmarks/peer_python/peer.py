"""The Python peer: runs a job written by the C++ harness (benchmarks/harness/peer.h) and writes
its rows, named peer_python/<the C++ name>, as a JSON result. Usage: peer.py JOB.json OUT.json"""
import json
import math
import os
import sys


def fail(message, code=2):
    print(f"peer.py: error: {message}", file=sys.stderr)
    sys.exit(code)


def load_job(path):
    try:
        with open(path, encoding="utf-8") as f:
            job = json.load(f)
    except OSError as e:
        fail(f"cannot read '{path}': {e.strerror}")
    except ValueError as e:
        fail(f"'{path}' is not valid JSON: {e}")
    if not isinstance(job, dict) or not isinstance(job.get("workflow"), str) or not isinstance(job.get("points"), list):
        fail(f"'{path}' is not a peer job (needs \"workflow\" and a \"points\" list)")
    return job


def write_atomic(path, data):
    """The result is whole or absent: written beside `path`, then renamed over it."""
    tmp = path + ".tmp"
    try:
        with open(tmp, "w", encoding="utf-8") as f:
            json.dump(data, f, indent=2, allow_nan=False)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except OSError as e:
        if os.path.exists(tmp):
            os.remove(tmp)
        fail(f"cannot write '{path}': {e.strerror}")


def main(argv):
    if len(argv) != 3:
        fail("usage: peer.py JOB.json OUT.json")
    job = load_job(argv[1])
    try:
        import torch  # noqa: F401 (imported here so that a missing torch is one line, not a traceback)
    except Exception:  # ImportError, or a broken install (OSError from a missing library)
        fail(f"torch is not importable by {sys.executable}", 3)
    sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
    import pb_common
    import workflows

    runner = workflows.RUNNERS.get(job["workflow"])
    if runner is None:
        fail(f"unknown workflow '{job['workflow']}' (expected {', '.join(sorted(workflows.RUNNERS))})")
    repetitions = job.get("repetitions", 1)
    min_time = job.get("min_time", 0.5)
    if isinstance(repetitions, bool) or not isinstance(repetitions, int) or repetitions < 1:
        fail(f"'repetitions' must be a positive integer, got {repetitions!r}")
    if isinstance(min_time, bool) or not isinstance(min_time, (int, float)) or not math.isfinite(min_time) \
            or min_time < 0:
        fail(f"'min_time' must be a non-negative number, got {min_time!r}")
    context = dict(pb_common.context(), peer_python_executable=sys.executable)  # before the points set threads
    rows = []
    try:
        for point in job["points"]:
            if not isinstance(point, dict) or not isinstance(point.get("name"), str):
                raise pb_common.JobError("every point needs a \"name\"")
            rows.extend(run_point(runner, point, repetitions, float(min_time), pb_common))
    except pb_common.JobError as e:
        fail(str(e))
    result = {"context": context, "benchmarks": pb_common.finite(rows)}
    write_atomic(argv[2], result)
    return 0


def run_point(runner, point, repetitions, min_time, pb_common):
    """Every repetition of one point, plus aggregates; a skip or a failure is one row."""
    print(f"peer: {point['name']}", flush=True)  # stdout: stderr's last line is the error the harness reports
    reason = runner.skip_reason(point) if hasattr(runner, "skip_reason") else ""
    if reason:
        return [pb_common.error_row(point, repetitions, "skipped: " + reason)]
    rows = []
    for index in range(repetitions):
        try:
            iterations, seconds, counters = runner.measure(point, min_time)
        except pb_common.JobError:
            raise
        except Exception as e:  # a failing point is recorded; the others still run
            message = " ".join(str(e).split()) or type(e).__name__
            return [pb_common.error_row(point, repetitions, f"{type(e).__name__}: {message}"[:300])]
        rows.append(pb_common.run_row(point, repetitions, index, iterations, seconds, counters))
    return rows + pb_common.aggregate_rows(rows)


if __name__ == "__main__":
    sys.exit(main(sys.argv))
