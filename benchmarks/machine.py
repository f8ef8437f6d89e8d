"""What the numbers were measured on: machine, Python and package versions."""

from __future__ import annotations

import importlib.metadata
import os
import platform
import subprocess
from typing import Any

import psutil

PACKAGES = (
    "django-inngest-realtime",
    "django",
    "channels",
    "channels-redis",
    "daphne",
    "twisted",
    "autobahn",
    "redis",
    "pydantic",
    "django-eventstream",
    "websockets",
    "httpx",
    "psycopg",
)


def describe() -> dict[str, Any]:
    cpu = platform.processor() or ""
    try:
        with open("/proc/cpuinfo") as info:
            cpu = next((ln.split(":", 1)[1].strip() for ln in info if "model name" in ln), cpu)
    except OSError:
        pass
    return {
        "cpu": cpu,
        "cores": os.cpu_count(),
        "memory_gb": round(psutil.virtual_memory().total / 2**30, 1),
        "os": platform.platform(),
        "python": platform.python_version(),
        "redis_server": _redis_version(),
    }


def versions() -> dict[str, str]:
    out = {}
    for name in PACKAGES:
        try:
            out[name] = importlib.metadata.version(name)
        except importlib.metadata.PackageNotFoundError:
            out[name] = "not installed"
    return out


def _redis_version() -> str:
    try:
        info = subprocess.run(
            ["redis-cli", "-h", "127.0.0.1", "info", "server"],
            capture_output=True,
            text=True,
            timeout=5,
            check=False,
        ).stdout
    except (OSError, subprocess.TimeoutExpired):
        return "unknown"
    return next(
        (ln.split(":", 1)[1].strip() for ln in info.splitlines() if "redis_version" in ln),
        "unknown",
    )
