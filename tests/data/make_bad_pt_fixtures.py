"""Writes the .pt files the hardening tests feed cimkit as wrong input (issue 10).

Run with Debian's python3-torch (1.13) in tests/data: /usr/bin/python3 make_bad_pt_fixtures.py
"""
import torch

t = torch.arange(12, dtype=torch.float32).reshape(3, 4)
# PyTorch's pre-1.6 format: a bare pickle stream, no zip archive.
torch.save(t, "legacy_format.pt", _use_new_zipfile_serialization=False)
# A whole module pickled (its class), not its state_dict.
torch.manual_seed(0)
torch.save(torch.nn.Linear(4, 3), "pickled_module.pt")
# A tensor with a NaN; a complex tensor; a state dict with an infinite entry.
n = t.clone()
n[1, 2] = float("nan")
torch.save(n, "nan_tensor.pt")
torch.save(torch.complex(t, t), "complex_tensor.pt")
torch.save({"weight": torch.full((3, 4), float("inf"))}, "state_dict_inf.pt")

# A zip archive with a deflated entry (torch.save stores its records; the zip check reads both).
import zipfile

with zipfile.ZipFile("deflated.zip", "w", compression=zipfile.ZIP_DEFLATED) as z:
    z.writestr("archive/data.txt", ("cimkit zip check " * 200).encode())
