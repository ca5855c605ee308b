"""The launch's configuration files, read the way their engines read them but without importing them:
the accelerate YAML (`accelerate launch --config_file`, or accelerate's default file) and the
DeepSpeed JSON (named by the YAML's `deepspeed_config.deepspeed_config_file`, written inline in its
`deepspeed_config`, or given to the script as `--deepspeed ds.json`).
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any, Callable, Optional

from .model import AccelerateConfig, DeepSpeedConfig, DeepSpeedVia

# The DeepSpeed entries the rules and the memory plan read, dotted.
_DEEPSPEED_KEYS = (
    "train_batch_size", "train_micro_batch_size_per_gpu", "gradient_accumulation_steps", "gradient_clipping",
    "bf16.enabled", "fp16.enabled", "zero_optimization.stage", "zero_optimization.offload_optimizer.device",
    "zero_optimization.offload_param.device", "optimizer.type",
)

# accelerate's inline `deepspeed_config:` keys (accelerate/commands/config) → DeepSpeed JSON entries.
_INLINE = {
    "zero_stage": "zero_optimization.stage",
    "offload_optimizer_device": "zero_optimization.offload_optimizer.device",
    "offload_param_device": "zero_optimization.offload_param.device",
    "gradient_accumulation_steps": "gradient_accumulation_steps",
    "gradient_clipping": "gradient_clipping",
}


class ConfigError(Exception):
    """A configuration file that cannot be read: the reason, for the launch's unknowns."""


def default_accelerate_config() -> Optional[Path]:
    """accelerate's default config file, where `accelerate config` writes it (HF_HOME's cache)."""
    home = os.environ.get("HF_HOME") or os.path.join(
        os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache"), "huggingface")
    cache = os.environ.get("ACCELERATE_CONFIG_FILE") or os.path.join(home, "accelerate", "default_config.yaml")
    path = Path(cache)
    return path if path.is_file() else None


def _read_mapping(path: Path, loads: Callable[[str], Any], invalid: type[Exception], what: str) -> dict:
    """The mapping a configuration file holds, or ConfigError naming the file and the cause."""
    try:
        data = loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError) as error:
        raise ConfigError(f"cannot read {path}: {error}") from None
    except invalid as error:
        raise ConfigError(f"{path} is not valid {what}: {str(error).splitlines()[0]}") from None
    if not isinstance(data, dict):
        raise ConfigError(f"{path} does not hold a mapping")
    return data


def read_accelerate(path: Path) -> AccelerateConfig:
    # PyYAML only when a launch names a YAML: `check` of a plain file never reads one
    import yaml

    return AccelerateConfig(str(path), _read_mapping(path, yaml.safe_load, yaml.YAMLError, "YAML"))


def read_deepspeed_json(path: Path, via: DeepSpeedVia = DeepSpeedVia.ACCELERATE) -> DeepSpeedConfig:
    return DeepSpeedConfig(str(path), _flatten(_read_mapping(path, json.loads, json.JSONDecodeError, "JSON")), via)


def deepspeed_of_accelerate(config: AccelerateConfig, base: Path) -> Optional[DeepSpeedConfig]:
    """The DeepSpeed configuration an accelerate YAML names: its JSON file (relative paths against
    the launch's directory, as accelerate opens them from the working directory), else its inline
    settings; None when the YAML does not use DeepSpeed."""
    inline = config.values.get("deepspeed_config")
    if config.values.get("distributed_type") != "DEEPSPEED" and not inline:
        return None
    inline = inline if isinstance(inline, dict) else {}
    named = inline.get("deepspeed_config_file")
    if isinstance(named, str) and named:
        path = Path(named)
        return read_deepspeed_json(path if path.is_absolute() else base / path)
    values = {dotted: inline[key] for key, dotted in _INLINE.items() if key in inline}
    return DeepSpeedConfig(f"accelerate:{config.path}", values)


def _flatten(data: dict) -> dict[str, Any]:
    found: dict[str, Any] = {}
    for dotted in _DEEPSPEED_KEYS:
        node: Any = data
        for part in dotted.split("."):
            node = node.get(part) if isinstance(node, dict) else None
        if node is not None:
            found[dotted] = node
    return found
