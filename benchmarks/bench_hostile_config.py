"""How long and how much memory `train.py` takes to refuse hostile config files.

The budget (README, "What survives what"): any config file is accepted or rejected in about a
second and under 100 MB of memory, whatever it holds. Each file of tests/test_faults.py's hostile
corpus (and the shipped configs, for comparison) is given to a fresh `train.py --dry-run`
process; the figures are that process's wall time and peak resident memory (this process imports
nothing heavy, since a child's peak includes what it inherited before exec), the median of a few
runs each.

    python benchmarks/bench_hostile_config.py [--rounds 3]
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "tests"))

from hostile_configs import HOSTILE  # noqa: E402  (the corpus tests/test_faults.py uses; standard library only)

#: Runs train.py and reports its own peak memory at exit: VmHWM belongs to the process's address
#: space, which exec replaces, so it holds nothing of this process (the kernel's ru_maxrss would).
RUNNER = """
import atexit, runpy, sys
def report():
    peak = next(line for line in open("/proc/self/status") if line.startswith("VmHWM"))
    sys.stderr.write("\\n" + peak)
atexit.register(report)
sys.argv = sys.argv[1:]
runpy.run_path(sys.argv[0], run_name="__main__")
"""


def measure(config: Path, out: Path) -> tuple[float, float, int]:
    """(wall seconds, peak resident memory in MiB, exit code) of one `train.py --dry-run` on `config`."""
    start = time.perf_counter()
    done = subprocess.run(
        [sys.executable, "-c", RUNNER, str(ROOT / "train.py"), "--config", str(config), "--out", str(out), "--dry-run"],
        capture_output=True,
        text=True,
    )
    seconds = time.perf_counter() - start
    peak_kib = int(done.stderr.strip().splitlines()[-1].split()[1])
    return seconds, peak_kib / 1024, done.returncode


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args(argv)
    cases = {name: content for name, (content, _) in HOSTILE.items()}
    print(f"{'config':32s} {'bytes':>9s} {'exit':>4s} {'seconds':>8s} {'peak MiB':>9s}")
    with tempfile.TemporaryDirectory() as tmp:
        files = {}
        for name, content in cases.items():
            path = Path(tmp) / f"{len(files)}.yaml"
            path.write_bytes(content if isinstance(content, bytes) else content.encode())
            files[name] = path
        files["(shipped) configs/blog/dense.yaml"] = ROOT / "configs/blog/dense.yaml"
        files["(shipped) configs/sweeps/study_vae_sum.yaml"] = ROOT / "configs/sweeps/study_vae_sum.yaml"
        worst = (0.0, 0.0)
        for name, path in files.items():
            results = [measure(path, Path(tmp) / "runs") for _ in range(args.rounds)]
            seconds = statistics.median(r[0] for r in results)
            mib = max(r[1] for r in results)
            if not name.startswith("(shipped)"):
                worst = (max(worst[0], seconds), max(worst[1], mib))
            print(f"{name:32s} {path.stat().st_size:9,d} {results[0][2]:4d} {seconds:8.2f} {mib:9.1f}")
    print(
        f"\nworst hostile file: {worst[0]:.2f} s, {worst[1]:.0f} MiB peak (rounds: {args.rounds}, "
        f"{os.cpu_count()} cores; process start and imports included)"
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
