"""gen_all.py OUT_DIR: run every tests/golden/gen_*.py generator."""
import importlib.util
import glob
import os
import sys

import torch


def main():
    out_dir = sys.argv[1] if len(sys.argv) > 1 else os.path.join(os.path.dirname(__file__), "data")
    os.makedirs(out_dir, exist_ok=True)
    torch.manual_seed(0)
    torch.set_num_threads(1)
    here = os.path.dirname(os.path.abspath(__file__))
    sys.path.insert(0, here)
    for path in sorted(glob.glob(os.path.join(here, "gen_*.py"))):
        if os.path.basename(path) == "gen_all.py":
            continue
        spec = importlib.util.spec_from_file_location(os.path.basename(path)[:-3], path)
        mod = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(mod)
        mod.generate(out_dir)  # each file seeds itself (goldenio.begin)
        print("golden:", os.path.basename(path))


if __name__ == "__main__":
    main()
