"""Imports every module of the Python peer and resolves each torch.cuda.* name its sources use.

The peer's CUDA paths cannot run without a GPU; this checks that they would at least find every
torch.cuda function and class they call in the interpreter's torch (a renamed or missing API is
an error here, not on the first GPU run). Usage: python check_peer_torch_api.py <peer_python dir>
"""
import importlib
import pathlib
import re
import sys

import torch

peer_dir = pathlib.Path(sys.argv[1])
sys.path.insert(0, str(peer_dir))
modules = sorted(p.stem for p in peer_dir.glob("*.py"))
names = set()
for module in modules:
    importlib.import_module(module)
    names.update(re.findall(r"\btorch\.cuda(?:\.[A-Za-z_][A-Za-z0-9_]*)+", (peer_dir / f"{module}.py").read_text()))
missing = []
for name in sorted(names):
    value = torch
    for part in name.split(".")[1:]:
        value = getattr(value, part, None)
        if value is None:
            missing.append(name)
            break
if missing:
    print(f"torch {torch.__version__} lacks: {', '.join(missing)}")
    sys.exit(1)
if not names:
    print("no torch.cuda name found in the peer: the scan is broken")
    sys.exit(1)
print(f"torch {torch.__version__}: {len(modules)} peer modules imported, {len(names)} torch.cuda names resolved")
