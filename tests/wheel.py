"""The package as users get it: built from a clean copy of the checkout.

``python -m tests.wheel OUTDIR`` builds the wheel into ``OUTDIR`` and prints its path
(``.ci/run`` does, and hands it to the quickstart's test in ``INNGEST_REALTIME_WHEEL``).
"""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def fresh_copy(target: Path) -> Path:
    """The files a fresh clone has (plus new ones not ignored): no build state of the
    checkout (``*.egg-info``) decides what goes in."""
    listed = subprocess.run(
        ["git", "ls-files", "--cached", "--others", "--exclude-standard", "-z"],
        cwd=ROOT,
        capture_output=True,
        check=True,
    ).stdout.decode()
    for name in filter(None, listed.split("\0")):
        source = ROOT / name
        if source.is_file():
            (target / name).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(source, target / name)
    return target


def build(source: Path, outdir: Path, *kinds: str) -> subprocess.CompletedProcess[str]:
    """``python -m build`` (``kinds``: ``--wheel``, ``--sdist``; none: both), offline."""
    command = [sys.executable, "-m", "build", "--no-isolation", *kinds, "--outdir", str(outdir)]
    return subprocess.run(
        [*command, str(source)],
        capture_output=True,
        text=True,
        timeout=600,
    )


def build_wheel(workdir: Path) -> Path:
    """Build the wheel from a clean copy made in ``workdir``; return its path."""
    source = fresh_copy(workdir / "source")
    done = build(source, workdir / "dist", "--wheel")
    if done.returncode != 0:
        raise RuntimeError(f"building the wheel failed:\n{done.stdout[-3000:]}{done.stderr}")
    [wheel] = (workdir / "dist").glob("*.whl")
    return wheel


if __name__ == "__main__":
    import tempfile

    out = Path(sys.argv[1]).resolve()
    out.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory() as tmp:
        built = build_wheel(Path(tmp))
        print(shutil.copy2(built, out / built.name))
