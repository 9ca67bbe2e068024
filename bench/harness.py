"""Run a benchmark side as a whole process and measure it: wall time, and peak resident memory.

Peak RSS comes from two places. The kernel's own high-water mark of the process (`VmHWM` in /proc, read by the
sampler until the process ends), exact but per process; and a sampler that adds up the RSS of the whole process
tree every 20 ms, so that work spread over `--num-proc` workers is counted once for all of them. The table
reports the larger. `os.wait4`'s `ru_maxrss` is used only when /proc could not be read: it also counts the
benchmark's own process, whose pages the child holds between fork and exec, so a benchmark that built a large
corpus in memory would see it in every child it measures.
"""

from __future__ import annotations

import os
import platform
import shlex
import subprocess
import sys
import tempfile
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
PYTHON = sys.executable


@dataclass(frozen=True)
class Measured:
    """One whole-process run."""
    argv: tuple[str, ...]
    seconds: float
    peak_rss_mb: float
    returncode: int
    stdout: str
    stderr: str

    @property
    def command(self) -> str:
        return shlex.join(self.argv)

    def check(self) -> Measured:
        if self.returncode != 0:
            raise SystemExit(f"benchmark side failed (exit {self.returncode}): {self.command}\n{self.stderr[-3000:]}")
        return self


@dataclass
class Row:
    """One line of the results table: ours against a reference, or one measure with a target."""
    benchmark: str
    measure: str  # what is compared, e.g. "wall time, 20,000 tasks"
    ours: str
    reference: str
    ratio: float | None  # >1 means ours is better, as stated in `target`
    target: str
    met: bool
    notes: list[str] = field(default_factory=list)


def _tree_rss_kb(root: int) -> int:
    """Sum of VmRSS over `root` and its descendants, read from /proc (Linux)."""
    children: dict[int, list[int]] = {}
    rss: dict[int, int] = {}
    for entry in os.scandir("/proc"):
        if not entry.name.isdigit():
            continue
        try:
            with open(f"/proc/{entry.name}/stat", "rb") as f:
                stat = f.read().decode(errors="replace")
            ppid = int(stat.rsplit(")", 1)[1].split()[1])
            with open(f"/proc/{entry.name}/statm", "rb") as f:
                pages = int(f.read().split()[1])
        except (OSError, ValueError, IndexError):
            continue
        pid = int(entry.name)
        children.setdefault(ppid, []).append(pid)
        rss[pid] = pages * (os.sysconf("SC_PAGE_SIZE") // 1024)
    total, todo = 0, [root]
    while todo:
        pid = todo.pop()
        total += rss.get(pid, 0)
        todo += children.get(pid, [])
    return total


def _hwm_kb(pid: int) -> int:
    """The kernel's peak RSS of `pid` since its exec (0 once it has exited, or off Linux)."""
    try:
        with open(f"/proc/{pid}/status", "rb") as f:
            for line in f:
                if line.startswith(b"VmHWM:"):
                    return int(line.split()[1])
    except (OSError, ValueError, IndexError):
        pass
    return 0


def run_measured(argv: list[str], env: dict | None = None, cwd: str | Path | None = None,
                 stdin: str | Path | None = None, sample_tree: bool = True) -> Measured:
    """Run `argv` to completion; never raises on a non-zero exit (call `.check()`)."""
    full_env = dict(os.environ)
    full_env.update(env or {})
    with tempfile.TemporaryFile() as out, tempfile.TemporaryFile() as err:
        stdin_file = open(stdin, "rb") if stdin else subprocess.DEVNULL  # noqa: SIM115 (closed below)
        started = time.perf_counter()
        proc = subprocess.Popen(argv, stdout=out, stderr=err, stdin=stdin_file, env=full_env,
                                cwd=str(cwd) if cwd else None)
        peak_tree = 0
        hwm = 0
        stop = threading.Event()

        def sample() -> None:
            nonlocal peak_tree, hwm
            while not stop.is_set():
                peak_tree = max(peak_tree, _tree_rss_kb(proc.pid))
                hwm = max(hwm, _hwm_kb(proc.pid))
                stop.wait(0.02)

        sampler = threading.Thread(target=sample, daemon=True)
        if sample_tree:
            sampler.start()
        _, status, usage = os.wait4(proc.pid, 0)
        seconds = time.perf_counter() - started
        stop.set()
        if sample_tree:
            sampler.join()
        proc.returncode = os.waitstatus_to_exitcode(status)
        if stdin:
            stdin_file.close()
        out.seek(0)
        err.seek(0)
        peak_kb = max(hwm, peak_tree) if hwm else max(usage.ru_maxrss, peak_tree)
        return Measured(tuple(str(a) for a in argv), seconds, peak_kb / 1024, proc.returncode,
                        out.read().decode(errors="replace"), err.read().decode(errors="replace"))


def best_of(repeat: int, argv: list[str], **kwargs) -> Measured:
    """The fastest of `repeat` runs (the least disturbed by the rest of the machine), each checked."""
    runs = [run_measured(argv, **kwargs).check() for _ in range(max(1, repeat))]
    return min(runs, key=lambda m: m.seconds)


def annotate_cli() -> list[str]:
    """The toolkit's CLI as a whole process, from this checkout's environment."""
    return [PYTHON, "-m", "annotate.cli"]


def machine() -> str:
    cpu = ""
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    return f"{platform.system()} {platform.machine()}, {os.cpu_count()} cores{', ' + cpu if cpu else ''}, " \
           f"Python {platform.python_version()}"
