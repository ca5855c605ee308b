#!/usr/bin/env python3
"""Regenerate ppodoctor/trl_api/table.json from real TRL releases.

Each release is fetched with `pip download --no-deps trl==X` into a cache directory and read with
`ast`; nothing from TRL is imported, so any release can be read from any interpreter. Per release:
PPOTrainer's signature and PPOConfig's fields (here), and what every module lets a script import
(ppodoctor/trl_api/module_names.py reads a module, trl_import_table.py writes the table's "imports"
section). The readers are ppodoctor's own (ppodoctor/trl_api/source_facts.py): `ppodoctor check` reads
an installed release the table did not measure with the same code.

    python scripts/generate_trl_table.py                   # rewrite the table (all versions)
    python scripts/generate_trl_table.py --check 0.12.2 1.12.0
                                                           # regenerate two versions, compare, exit 1 on drift
                                                           # (their facts and import sets; `moves` need all)
"""

from __future__ import annotations

import argparse
import ast
import json
import re
import sys
from pathlib import Path
from typing import Optional

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(1, str(ROOT))
import trl_import_table  # noqa: E402
from ppodoctor.trl_api.module_names import Release  # noqa: E402
from ppodoctor.trl_api.source_facts import describe_release, find_class, imported_from, trainer_facts  # noqa: E402
from wheels import fetch_wheel, with_locked  # noqa: E402

TABLE = ROOT / "ppodoctor" / "trl_api" / "table.json"
SUCCESSORS_TABLE = ROOT / "ppodoctor" / "trl_api" / "successors.json"
DEFAULT_CACHE = Path.home() / ".cache" / "ppodoctor" / "trl-wheels"

# One release per behaviour change (and the edges around each), oldest first: the last 0.7 to 0.10
# (the old API, PPOv2Trainer from 0.9.4), every PPO era boundary, 1.7/1.8 (`trl.get_kbit_device_map`,
# which TRL's own PPO example imports, is gone from 1.8), the newest release, and every release the test
# environments' locks pin (locks/*.txt; scripts/update-lock moves them).
VERSIONS = with_locked("trl", ("0.7.11", "0.8.6", "0.9.6", "0.10.1", "0.11.4", "0.12.2", "0.13.0", "0.14.0",
                               "0.15.2", "0.17.0", "0.18.0", "0.20.0", "0.24.0", "0.25.1", "0.26.2", "0.27.0",
                               "0.28.0", "0.29.1", "1.0.0", "1.7.0", "1.8.0", "1.12.0", "1.13.0", "1.16.0"))

# Names whose import path the PPO rules (PPD202/PPD203) check; the imports section covers every name.
TRACKED_NAMES = ("PPOTrainer", "PPOConfig", "PPOv2Trainer", "PPOv2Config", "AutoModelForCausalLMWithValueHead",
                 "AutoModelForSeq2SeqLMWithValueHead", "PreTrainedModelWrapper", "create_reference_model",
                 "respond_to_batch", "LengthSampler")

# Meaning, not syntax: which old-era PPOConfig field the new PPOConfig spells differently. Checked by
# tests against the installed TRL; fields not listed here have no equivalent.
CONFIG_RENAMES = {"ppo_epochs": "num_ppo_epochs", "init_kl_coef": "kl_coef", "log_with": "report_to"}
# transformers.TrainingArguments fields that share a name with an old-era PPOConfig field (the new
# PPOConfig inherits TrainingArguments, so these still work). Checked against the installed transformers.
TRAINING_ARGUMENTS_OVERLAP = ("seed", "remove_unused_columns", "learning_rate", "gradient_accumulation_steps",
                              "max_grad_norm", "gradient_checkpointing", "push_to_hub", "report_to",
                              "output_dir", "per_device_train_batch_size", "num_train_epochs", "bf16", "fp16",
                              "use_cpu", "max_steps")


def key(version: str) -> tuple[int, ...]:
    return tuple(int(part) for part in re.findall(r"\d+", version)[:3])


def fetch(version: str, cache: Path) -> Path:
    return fetch_wheel("trl", version, cache)


# --- the successor trainers (what `ppodoctor migrate` ports PPO scripts to) ---------------------------
# RLOOTrainer and GRPOTrainer in the form PPO scripts are ported to: `reward_funcs=`, a TrainingArguments-
# based config. RLOOTrainer before 0.22 was an on-policy sibling of PPO (`reward_model=`, `rloo_k`); a
# release whose trainer takes no `reward_funcs` gets no entry for it. They go to their own file,
# successors.json, with PPOConfig's defaults per release: only `migrate` reads them, so `check` does not
# pay for parsing them, and the PPO table above stays as it was.
SUCCESSOR_VERSIONS = VERSIONS
SUCCESSORS = (("RLOOTrainer", "RLOOConfig", "trl.trainer.rloo_trainer", "trl.trainer.rloo_config"),
              ("GRPOTrainer", "GRPOConfig", "trl.trainer.grpo_trainer", "trl.trainer.grpo_config"))


def _field_default(node: ast.AnnAssign) -> dict:
    """{"default": literal}, {"expr": source} for a computed default, or {} when the field has none."""
    value = node.value
    if isinstance(value, ast.Call) and getattr(value.func, "id", "") == "field":
        given = {k.arg: k.value for k in value.keywords}
        if "default" in given:
            value = given["default"]
        elif "default_factory" in given:
            return {"expr": ast.unparse(given["default_factory"]) + "()"}
        else:
            return {}
    if value is None:
        return {}
    try:
        return {"default": ast.literal_eval(value)}
    except (ValueError, SyntaxError, TypeError):
        return {"expr": ast.unparse(value)}


def class_fields(release: Release, module: str, name: str) -> dict[str, dict]:
    """A dataclass's annotated fields with their defaults, its TRL base classes' included (nearest wins)."""
    fields: dict[str, dict] = {}
    seen = set()
    while name and (module, name) not in seen:
        seen.add((module, name))
        klass = find_class(release, module, name)
        if klass is None:
            break
        for node in klass.body:
            if isinstance(node, ast.AnnAssign) and isinstance(node.target, ast.Name) and node.target.id not in fields:
                fields[node.target.id] = _field_default(node)
        name = ""
        for base in (ast.unparse(b) for b in klass.bases):
            imported = imported_from(release, module, base)
            if imported:
                module, name = imported, base
                break
    return fields


def ppo_config_defaults(release: Release, config_module: str) -> dict:
    """PPOConfig's literal defaults (its TRL bases' included): what a script that sets nothing trained with."""
    return {name: info["default"] for name, info in class_fields(release, config_module, "PPOConfig").items()
            if "default" in info}


def successor_facts(release: Release) -> dict:
    found = {}
    exported = release.bound("trl")  # what `from trl import X` finds, the lazy structure included
    for trainer_name, config_name, trainer_module, config_module in SUCCESSORS:
        klass = find_class(release, trainer_module, trainer_name)
        init = next((n for n in (klass.body if klass else ()) if isinstance(n, ast.FunctionDef)
                     and n.name == "__init__"), None)
        if init is None or "reward_funcs" not in [a.arg for a in init.args.args]:
            continue
        args = init.args.args[1:]
        first_default = len(args) - len(init.args.defaults)
        config = find_class(release, config_module, config_name)
        found[trainer_name] = {
            "module": trainer_module,
            "exported_from_trl": trainer_name in exported and config_name in exported,
            "params": [{"name": a.arg, "required": i < first_default} for i, a in enumerate(args)],
            "config": config_name,
            "config_module": config_module,
            "config_inherits_training_arguments": config is not None and _inherits_training_arguments(
                release, config_module, config_name),
            "config_fields": class_fields(release, config_module, config_name),
        }
    return found


def _inherits_training_arguments(release: Release, module: str, name: str) -> bool:
    seen = set()
    while name and (module, name) not in seen:
        seen.add((module, name))
        klass = find_class(release, module, name)
        if klass is None:
            return False
        bases = [ast.unparse(b) for b in klass.bases]
        if "TrainingArguments" in bases:
            return True
        name = ""
        for base in bases:
            imported = imported_from(release, module, base)
            if imported:
                module, name = imported, base
                break
    return False


def describe_successors(version: str, wheel: Path) -> dict:
    release = Release(wheel)
    trainer = trainer_facts(release)
    config_module = trainer["module"].replace("ppo_trainer", "ppo_config") if trainer else ""
    return {"successors": successor_facts(release),
            "ppo_config_defaults": ppo_config_defaults(release, config_module) if trainer else {}}


def generate_successors(versions: tuple[str, ...], cache: Path) -> dict:
    return {
        "_comment": "Generated by scripts/generate_trl_table.py from real TRL releases; do not edit by hand.",
        "versions": {v: describe_successors(v, fetch(v, cache)) for v in sorted(versions, key=key)},
    }


def read_releases(versions: tuple[str, ...], cache: Path) -> tuple[dict, list]:
    """Per-version facts and import descriptions, one wheel in memory at a time."""
    facts, imports = {}, []
    for version in sorted(versions, key=key):
        release = Release(fetch(version, cache))
        facts[version] = describe_release(release)
        imports.append(trl_import_table.describe(release))
    return facts, imports


def generate(versions: tuple[str, ...], cache: Path) -> dict:
    facts, imports = read_releases(versions, cache)
    return {
        "_comment": "Generated by scripts/generate_trl_table.py from real TRL releases; do not edit by hand.",
        "tracked_names": list(TRACKED_NAMES),
        "config_renames": CONFIG_RENAMES,
        "training_arguments_overlap": list(TRAINING_ARGUMENTS_OVERLAP),
        "versions": facts,
        "imports": trl_import_table.encode(list(facts), imports),
    }


def drift(versions: tuple[str, ...], cache: Path, checked_in: dict) -> list[str]:
    """The versions whose regenerated facts or import sets differ from the checked-in table."""
    sys.path.insert(0, str(ROOT))
    from ppodoctor.trl_api.table import ImportTable

    table = ImportTable(checked_in["imports"])
    facts, imports = read_releases(versions, cache)
    return [v for v, fresh in zip(facts, imports)
            if facts[v] != checked_in["versions"].get(v) or v not in table.versions or fresh.view() != table.view(v)]


def main(argv: Optional[list[str]] = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--cache", type=Path, default=DEFAULT_CACHE, help="where downloaded wheels are kept")
    parser.add_argument("--check", nargs="*", metavar="VERSION",
                        help="regenerate these versions (default: all) and compare with the checked-in table")
    parser.add_argument("--output", type=Path, default=TABLE)
    parser.add_argument("--successors-output", type=Path, default=SUCCESSORS_TABLE)
    options = parser.parse_args(argv)
    if options.check is not None:
        checked_in = json.loads(options.output.read_text(encoding="utf-8"))
        asked = tuple(options.check) or tuple(checked_in["versions"])
        versions = tuple(v for v in asked if v in VERSIONS or v in checked_in["versions"])
        stale = drift(versions, options.cache, checked_in)
        for v in stale:
            print(f"table.json is out of date for trl {v}: run scripts/generate_trl_table.py", file=sys.stderr)
        successors = json.loads(options.successors_output.read_text(encoding="utf-8"))
        wanted = tuple(v for v in asked if v in SUCCESSOR_VERSIONS or v in successors["versions"])
        fresh_successors = generate_successors(wanted, options.cache)
        stale_successors = [v for v in wanted if fresh_successors["versions"][v] != successors["versions"].get(v)]
        for v in stale_successors:
            print(f"successors.json is out of date for trl {v}: run scripts/generate_trl_table.py", file=sys.stderr)
        return 1 if stale or stale_successors else 0
    table = generate(VERSIONS, options.cache)
    # indent=1: the imports section has one line per module, so a new release reads as a diff.
    options.output.write_text(json.dumps(table, indent=1, sort_keys=False) + "\n", encoding="utf-8")
    print(f"wrote {options.output} ({len(table['versions'])} versions, {options.output.stat().st_size} bytes)")
    successors = generate_successors(SUCCESSOR_VERSIONS, options.cache)
    options.successors_output.write_text(json.dumps(successors, indent=1, sort_keys=False) + "\n", encoding="utf-8")
    print(f"wrote {options.successors_output} ({len(successors['versions'])} versions)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
