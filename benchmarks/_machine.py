"""Machine and package-version records for benchmark results."""

from __future__ import annotations

import importlib.metadata
import os
import platform
import shutil
import subprocess

PACKAGES = ("numpy", "scipy", "scikit-learn", "torch", "skorch", "transformers", "tokenizers")


def cpu_model():
    try:
        with open("/proc/cpuinfo") as fh:
            for line in fh:
                if line.startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


def gpu_name():
    """Name of the first GPU (nvidia-smi, else torch), None on a CPU-only machine."""
    if shutil.which("nvidia-smi"):
        try:
            out = subprocess.run(["nvidia-smi", "--query-gpu=name", "--format=csv,noheader"],
                                 capture_output=True, text=True, timeout=20)
            names = [n.strip() for n in out.stdout.splitlines() if n.strip()]
            if names:
                return ", ".join(names)
        except (OSError, subprocess.TimeoutExpired):
            pass
    try:
        import torch

        if torch.cuda.is_available():
            return torch.cuda.get_device_name(0)
    except ImportError:
        pass
    return None


def memory_gb():
    try:
        return os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") / 2**30
    except (ValueError, OSError):
        return None


def machine_info():
    return {
        "cpu_count": os.cpu_count(),
        "usable_cpus": len(os.sched_getaffinity(0)),
        "cpu_model": cpu_model(),
        "memory_gb": round(memory_gb() or 0, 1),
        "gpu": gpu_name(),
        "platform": platform.platform(),
        "python": platform.python_version(),
        "OMP_WAIT_POLICY": os.environ.get("OMP_WAIT_POLICY"),
    }


def package_versions():
    import sklearn_xmtc

    out = {"sklearn_xmtc": sklearn_xmtc.__version__}
    for name in PACKAGES:
        try:
            out[name] = importlib.metadata.version(name)
        except importlib.metadata.PackageNotFoundError:
            out[name] = None
    return out
