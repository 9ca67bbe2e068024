"""`annotate import` before and after a change, and the SDK converter, side by side in one run (issue 22).

    python -m bench.ab_import EXPORT OLD_TREE ROUNDS

OLD_TREE holds the `annotate` and `schemas` folders of the earlier commit (`git archive COMMIT annotate schemas |
tar -x -C OLD_TREE`); each side is a whole process, rounds alternate the order, and the best and median of each
side are printed with their ratios to the SDK's (reference seconds / ours). The export comes from
`bench.corpus.write_export_json(path, 20000, articles=True)`.
"""

from __future__ import annotations

import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from annotate.core.schema import load_schema
from annotate.studio.config import labeling_config

from .bench_import import SDK
from .harness import PYTHON, REPO


def main(export: str, old_tree: str, rounds: int) -> None:
    with tempfile.TemporaryDirectory(prefix="ab-import-") as tmp:
        work = Path(tmp)
        config = work / "config.xml"
        config.write_text(labeling_config(load_schema()), encoding="utf-8")
        sides = {
            "sdk": ([PYTHON, "-c", SDK, str(config), export, str(work / "sdk")], REPO),
            "before": ([PYTHON, "-m", "annotate.cli", "import", export, "-o", str(work / "before")], old_tree),
            "after": ([PYTHON, "-m", "annotate.cli", "import", export, "-o", str(work / "after")], REPO),
        }
        times: dict[str, list[float]] = {name: [] for name in sides}
        for r in range(rounds):
            for name in (list(sides) if r % 2 == 0 else list(reversed(sides))):
                argv, cwd = sides[name]
                for out in ("sdk", "before", "after"):
                    shutil.rmtree(work / out, ignore_errors=True)
                start = time.perf_counter()
                subprocess.run(argv, cwd=cwd, check=True, capture_output=True)
                times[name].append(time.perf_counter() - start)
                print(name, f"{times[name][-1]:.1f} s", flush=True)
    for name, runs in times.items():
        print(name, "runs", ", ".join(f"{t:.1f}" for t in runs), "best", f"{min(runs):.1f}")
    for side in ("before", "after"):
        print(f"{side}: SDK/ours best {min(times['sdk']) / min(times[side]):.2f}, medians "
              f"{statistics.median(times['sdk']) / statistics.median(times[side]):.2f}")


if __name__ == "__main__":
    main(sys.argv[1], sys.argv[2], int(sys.argv[3]))
