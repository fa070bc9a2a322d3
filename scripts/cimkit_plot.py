"""`cimkit plot` from the results scripts: one chart spec (see src/cli/cmd_plot.cpp) to a PNG."""
import json
import os
import subprocess
import tempfile


def cimkit_plot(cimkit, spec, png):
    with tempfile.NamedTemporaryFile("w", suffix=".json", delete=False) as f:
        json.dump(spec, f)
    try:
        subprocess.run([cimkit, "plot", f.name, png], check=True, stdout=subprocess.DEVNULL)
    finally:
        os.unlink(f.name)
