#!/usr/bin/env bash
# A stand-in for the Python peer's interpreter, for smoke tests that read the job a suite gives
# its peer: it passes the harness's "import torch" probe, then prints the job (the harness runs
# it as `python peer.py job.json out.json`) and fails, so the harness shows the job as the
# failed peer's error output and records the peer rows as failed.
[[ $1 == -c ]] && exit 0
cat "$2" >&2
exit 3
