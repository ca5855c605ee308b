"""The facts the era tables hold, read from a release's source with `ast` (nothing imported).

One reader for two uses: scripts/generate_trl_table.py and scripts/generate_training_arguments.py
write table.json and training_arguments.json from released wheels with it, and `ppodoctor check`
reads an installed release the tables did not measure with it (installed_facts.py). Per TRL release:
PPOTrainer's signature (and its keywords deprecated with `@deprecate_kwarg`), PPOConfig's fields
(its TRL base classes' included) and whether it inherits transformers' TrainingArguments, and the
transformers its metadata requires. Per transformers release: TrainingArguments' fields.
"""

from __future__ import annotations

import ast
import re
from typing import Optional

from .module_names import Release


# --- transformers -----------------------------------------------------------------------------------
def training_arguments_fields(source: str) -> list[str]:
    """The keywords TrainingArguments.__init__ takes: the annotated fields of `class TrainingArguments`
    in transformers/training_args.py, less those declared `field(init=False)`."""
    tree = ast.parse(source)
    klass = next(node for node in tree.body if isinstance(node, ast.ClassDef) and node.name == "TrainingArguments")
    fields = []
    for node in klass.body:
        if isinstance(node, ast.AnnAssign) and isinstance(node.target, ast.Name) and not _init_false(node.value):
            fields.append(node.target.id)
    return fields


def _init_false(value: Optional[ast.expr]) -> bool:
    return isinstance(value, ast.Call) and getattr(value.func, "id", "") == "field" and any(
        k.arg == "init" and isinstance(k.value, ast.Constant) and k.value.value is False for k in value.keywords)


# --- TRL --------------------------------------------------------------------------------------------
def find_class(release: Release, module: str, name: str) -> Optional[ast.ClassDef]:
    tree = release.tree(module)
    for node in (tree.body if tree else ()):
        if isinstance(node, ast.ClassDef) and node.name == name:
            return node
    return None


def trainer_facts(release: Release) -> dict:
    """{"module", "params": [{"name", "required"}], "deprecated_keywords"} of PPOTrainer; {} without one."""
    for module in ("trl.experimental.ppo.ppo_trainer", "trl.trainer.ppo_trainer"):
        klass = find_class(release, module, "PPOTrainer")
        init = next((n for n in (klass.body if klass else ()) if isinstance(n, ast.FunctionDef)
                     and n.name == "__init__"), None)
        if init is None or init.args.vararg is not None:
            continue  # a *args shim: the real class lives in the other module
        args = init.args.args[1:]
        first_default = len(args) - len(init.args.defaults)
        deprecated = {}
        for decorator in init.decorator_list:
            if isinstance(decorator, ast.Call) and getattr(decorator.func, "id", "") == "deprecate_kwarg":
                values = [a.value for a in decorator.args if isinstance(a, ast.Constant)]
                named = {k.arg: k.value.value for k in decorator.keywords if isinstance(k.value, ast.Constant)}
                values += [named.get(k) for k in ("old_name", "version", "new_name")[len(values):]]
                deprecated[values[0]] = {"new": values[2], "removed_in": values[1]}
        return {"module": module,
                "params": [{"name": a.arg, "required": i < first_default} for i, a in enumerate(args)],
                "deprecated_keywords": deprecated}
    return {}


def config_fields(release: Release, module: str) -> tuple[list[str], bool]:
    """PPOConfig's fields, its TRL base classes' included; and whether it inherits TrainingArguments."""
    fields: list[str] = []
    inherits_training_arguments = False
    klass_name, current = "PPOConfig", module
    seen = set()
    while klass_name and (current, klass_name) not in seen:
        seen.add((current, klass_name))
        klass = find_class(release, current, klass_name)
        if klass is None:
            break
        for node in klass.body:
            if isinstance(node, ast.AnnAssign) and isinstance(node.target, ast.Name) and \
                    node.target.id not in fields:
                fields.append(node.target.id)
        bases = [ast.unparse(b) for b in klass.bases]
        klass_name = ""
        for base in bases:
            if base == "TrainingArguments":
                inherits_training_arguments = True
                continue
            imported = imported_from(release, current, base)
            if imported:
                current, klass_name = imported, base
                break
    return fields, inherits_training_arguments


def imported_from(release: Release, module: str, name: str) -> Optional[str]:
    """The trl module a class name of `module` comes from: itself when defined there, the module a
    `from ... import name` names, None otherwise (an external base, or a renamed import)."""
    tree = release.tree(module)
    for node in (tree.body if tree else ()):
        if isinstance(node, ast.ImportFrom) and any((a.asname or a.name) == name for a in node.names):
            package = module.split(".")
            base = package[: len(package) - node.level] if node.level else []
            target = ".".join(base + ([node.module] if node.module else []))
            original = next(a.name for a in node.names if (a.asname or a.name) == name)
            if original != name:
                return None
            return target if release.module_path(target) else None
        if isinstance(node, ast.ClassDef) and node.name == name:
            return module
    return None


def transformers_requirement(release: Release) -> str:
    for line in release.metadata().splitlines():
        match = re.match(r"Requires-Dist: transformers\s*([^;]*)$", line.strip())
        if match:
            return match.group(1).strip().strip("()")  # old metadata spells it `transformers (>=4.31.0)`
    return ""


def describe_release(release: Release) -> dict:
    """One release's entry of table.json's "versions" (the import facts are module_names.py's)."""
    trainer = trainer_facts(release)
    config_module = trainer["module"].replace("ppo_trainer", "ppo_config") if trainer else ""
    fields, inherits = config_fields(release, config_module) if trainer else ([], False)
    return {
        "has_ppo": bool(trainer),
        "trainer_module": trainer.get("module", ""),
        "trainer_params": trainer.get("params", []),
        "deprecated_keywords": trainer.get("deprecated_keywords", {}),
        "config_fields": fields,
        "config_inherits_training_arguments": inherits,
        "requires_transformers": transformers_requirement(release),
    }
