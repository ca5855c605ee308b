"""`ppodoctor env`: what the training environment holds, as far as PPO cares.

The facts are gathered by a small script run in the target interpreter (this one by default, or
`--python PATH`), so ppodoctor's own process never imports trl or torch, and another virtual
environment can be inspected without installing ppodoctor there. Versions come from package
metadata; TRL's PPO is located with `importlib.util.find_spec` (imports trl's light package
`__init__` only); torch is imported only to count CUDA devices and ask about bf16.
"""

from __future__ import annotations

import json
import subprocess
from dataclasses import dataclass, field
from typing import Optional

PACKAGES = ("torch", "transformers", "trl", "accelerate", "peft")
# The newest TRL with PPO (trl-ppo-facts.md: PPO was removed in 1.13).
LAST_TRL_WITH_PPO = "1.12.0"

# Runs in the inspected interpreter: standard library only, Python 3.8+.
_GATHER = r'''
import importlib.util, json, os, platform, sys
try:
    from importlib import metadata
except ImportError:
    metadata = None
out = {"python": platform.python_version(), "executable": sys.executable, "packages": {}}
for name in %(packages)r:
    try:
        out["packages"][name] = metadata.version(name) if metadata else None
    except Exception:
        out["packages"][name] = None
def spec(name):
    try:
        found = importlib.util.find_spec(name)
    except Exception:
        return None
    return (found.origin or (list(found.submodule_search_locations or []) or [""])[0]) if found else None
ppo = {"experimental": None, "top_level": None}
if out["packages"].get("trl"):
    ppo["experimental"] = spec("trl.experimental.ppo")
    ppo["top_level"] = spec("trl.trainer.ppo_trainer")
out["ppo"] = ppo
cuda = None
if out["packages"].get("torch") and os.environ.get("PPODOCTOR_ENV_NO_TORCH") != "1":
    try:
        import torch
        available = torch.cuda.is_available()
        devices = [torch.cuda.get_device_name(i) for i in range(torch.cuda.device_count())] if available else []
        bf16 = bool(available and torch.cuda.is_bf16_supported())
        mps = bool(getattr(torch.backends, "mps", None) and torch.backends.mps.is_available())
        cuda = {"available": available, "devices": devices, "bf16": bf16, "mps": mps,
                "cuda_version": getattr(torch.version, "cuda", None)}
    except Exception as error:
        cuda = {"error": "%%s: %%s" %% (type(error).__name__, str(error).splitlines()[0] if str(error) else "")}
out["cuda"] = cuda
print(json.dumps(out))
''' % {"packages": PACKAGES}


class EnvError(Exception):
    """The interpreter could not be run or did not answer; str() is the one-line cause."""


@dataclass(frozen=True)
class EnvReport:
    python: str
    executable: str
    packages: tuple[tuple[str, Optional[str]], ...]
    ppo_experimental: Optional[str]  # where trl.experimental.ppo lives, if it does
    ppo_top_level: Optional[str]  # where trl.trainer.ppo_trainer (`from trl import PPOTrainer`) lives
    cuda: Optional[dict] = field(default=None, compare=False)

    def version(self, package: str) -> Optional[str]:
        return dict(self.packages).get(package)

    @property
    def has_ppo(self) -> bool:
        return bool(self.ppo_experimental or self.ppo_top_level)

    @property
    def ppo_import(self) -> Optional[str]:
        """The import line that works with this TRL (the experimental path wins where both do)."""
        if self.ppo_experimental:
            return "from trl.experimental.ppo import PPOConfig, PPOTrainer"
        if self.ppo_top_level:
            return "from trl import PPOConfig, PPOTrainer"
        return None

    @property
    def ppo_location(self) -> Optional[str]:
        return self.ppo_experimental or self.ppo_top_level

    @property
    def bf16_default_works(self) -> Optional[bool]:
        """PPOConfig defaults to bf16=True, which TRL rejects without a bf16-capable GPU."""
        if not self.cuda or "error" in self.cuda:
            return None
        return bool(self.cuda.get("bf16") or self.cuda.get("mps"))

    def advice(self) -> list[str]:
        notes = []
        trl = self.version("trl")
        if trl is None:
            notes.append(f"TRL is not installed: pip install 'trl=={LAST_TRL_WITH_PPO}' (the last release with PPO)")
        elif not self.has_ppo:
            notes.append(f"trl {trl} has no PPOTrainer (removed in 1.13): pin `trl=={LAST_TRL_WITH_PPO}` "
                         "(or `trl>=0.29,<1.13`)")
        if self.bf16_default_works is False:
            notes.append("no bf16-capable GPU: the default PPOConfig (bf16=True) raises `Your setup doesn't "
                         "support bf16/gpu`; pass `bf16=False` (and `use_cpu=True` on CPU)")
        return notes

    def to_dict(self) -> dict:
        return {"python": self.python, "executable": self.executable, "packages": dict(self.packages),
                "ppo": {"available": self.has_ppo, "import": self.ppo_import, "location": self.ppo_location},
                "cuda": self.cuda, "bf16_default_works": self.bf16_default_works, "advice": self.advice()}


def collect(python: str, timeout: float = 120.0, with_torch: bool = True) -> EnvReport:
    env = None
    if not with_torch:
        import os

        env = dict(os.environ, PPODOCTOR_ENV_NO_TORCH="1")
    try:
        done = subprocess.run([python, "-c", _GATHER], capture_output=True, text=True, timeout=timeout, env=env)
    except FileNotFoundError:
        raise EnvError(f"{python}: no such interpreter")
    except PermissionError:
        raise EnvError(f"{python}: not executable")
    except OSError as error:
        raise EnvError(f"{python}: cannot run: {error.strerror or error}")
    except subprocess.TimeoutExpired:
        raise EnvError(f"{python}: no answer within {timeout:.0f} s")
    lines = done.stdout.strip().splitlines()
    try:
        data = json.loads(lines[-1])
    except (IndexError, ValueError):
        cause = (done.stderr.strip().splitlines() or ["no output"])[-1]
        raise EnvError(f"{python}: not a Python interpreter ppodoctor can inspect ({cause})")
    return EnvReport(data["python"], data["executable"], tuple((name, data["packages"].get(name))
                                                               for name in PACKAGES),
                     data["ppo"]["experimental"], data["ppo"]["top_level"], data.get("cuda"))


def render_env(report: EnvReport) -> str:
    lines = [f"python        {report.python} ({report.executable})"]
    lines.extend(f"{name:<13} {version or 'not installed'}" for name, version in report.packages)
    if report.has_ppo:
        lines.append(f"PPO           yes: `{report.ppo_import}`")
        lines.append(f"              from {report.ppo_location}")
    else:
        lines.append("PPO           no")
    cuda = report.cuda
    if cuda is None:
        lines.append("CUDA          unknown (torch not installed)")
    elif "error" in cuda:
        lines.append(f"CUDA          unknown (importing torch failed: {cuda['error']})")
    elif cuda["available"]:
        lines.append(f"CUDA          {len(cuda['devices'])} device(s), CUDA {cuda.get('cuda_version')}: "
                     + ", ".join(cuda["devices"]))
        lines.append(f"bf16          {'supported' if cuda['bf16'] else 'not supported'}")
    else:
        lines.append("CUDA          no devices" + (" (MPS available)" if cuda.get("mps") else ""))
        lines.append("bf16          no (no CUDA device)" if not cuda.get("mps")
                     else "bf16          MPS")
    for note in report.advice():
        lines.append(f"note: {note}")
    return "\n".join(lines) + "\n"
