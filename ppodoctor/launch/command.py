"""A launch command's words → a Launch: which launcher, its options, the script and its arguments,
the world size and precision, and the configuration files it reads (configs.py).

The launchers' own option tables decide where the script starts: an option that takes a value
swallows the next word, a flag does not (the flag lists are those of accelerate 1.16's, torch's and
DeepSpeed's argument parsers).
"""

from __future__ import annotations

from pathlib import Path
from typing import Optional

from .configs import ConfigError, deepspeed_of_accelerate, default_accelerate_config, read_accelerate, \
    read_deepspeed_json
from .model import DeepSpeedVia, Launch, Launcher, LaunchSource, Unknown

_ACCELERATE_FLAGS = frozenset({
    "--cpu", "--debug", "--downcast_bf16", "--dynamo_use_dynamic", "--dynamo_use_fullgraph",
    "--dynamo_use_regional_compilation", "--enable_cpu_affinity", "--fp8_use_autocast_during_eval", "--module",
    "--multi_gpu", "--no_python", "--no_tpu_cluster", "--quiet", "--same_network", "--tpu", "--tpu_cluster",
    "--tpu_use_sudo", "--use_deepspeed", "--use_fsdp", "--use_megatron_lm", "--use_parallelism_config", "-m", "-q",
})
_TORCHRUN_FLAGS = frozenset({"--standalone", "-m", "--module", "--no-python", "--no_python", "--run-path",
                             "--run_path", "--module"})
_DEEPSPEED_FLAGS = frozenset({"--module", "--no_python", "--no_local_rank", "--force_multi", "--save_pid",
                              "--enable_each_rank_log", "--bind_cores_to_rank", "--elastic_training",
                              "--no_ssh_check", "--no_ssh", "--autotuning_run"})
_PYTHON_FLAGS_WITH_VALUE = frozenset({"-W", "-X", "-c"})
_PYTHONS = ("python", "python3")


class NotALaunch(Exception):
    """Words that do not start a training script (another command of a shell launcher)."""


def is_python(word: str) -> bool:
    name = Path(word).name
    return name in _PYTHONS or (name.startswith("python3.") and name[8:].isdigit())


def parse_command(words: list[str], base: Path, source: LaunchSource = LaunchSource(),
                  env: Optional[dict[str, str]] = None) -> Launch:
    """The launch `words` start, relative paths against `base`; raises NotALaunch otherwise."""
    env = dict(env or {})
    if not words:
        raise NotALaunch("no command")
    head, rest = Path(words[0]).name, words[1:]
    if head == "accelerate" and rest[:1] == ["launch"]:
        return _accelerate(rest[1:], base, source, env)
    if head == "accelerate-launch":
        return _accelerate(rest, base, source, env)
    if head == "torchrun":
        return _torchrun(rest, base, source, env)
    if head == "deepspeed":
        return _deepspeed(rest, base, source, env)
    if is_python(words[0]):
        index = 0
        while index < len(rest) and rest[index].startswith("-") and rest[index] != "-m":
            index += 2 if rest[index] in _PYTHON_FLAGS_WITH_VALUE else 1
        if rest[index:index + 1] == ["-m"] and index + 1 < len(rest):
            module, after = rest[index + 1], rest[index + 2:]
            if module == "accelerate.commands.launch":
                return _accelerate(after, base, source, env)
            if module == "torch.distributed.run":
                return _torchrun(after, base, source, env)
            raise NotALaunch(f"`python -m {module}` runs a module, not a script")
        if index < len(rest) and rest[index].endswith(".py"):
            return Launch(Launcher.PYTHON, _script(rest[index], base), tuple(rest[index + 1:]), world_size=1,
                          num_machines=1, env=tuple(sorted(env.items())), source=source)
    raise NotALaunch(f"`{words[0]}` does not launch a Python script")


def _split(words: list[str], flags: frozenset) -> tuple[dict[str, str], str, list[str]]:
    """(the launcher's options, the script, the script's arguments)."""
    options: dict[str, str] = {}
    index = 0
    while index < len(words) and words[index].startswith("-"):
        word = words[index]
        if "=" in word and word.startswith("--"):
            name, _, value = word.partition("=")
            options[name.replace("-", "_").lstrip("_")] = value
            index += 1
        elif word in flags:
            options[word.lstrip("-").replace("-", "_")] = "true"
            index += 1
        else:
            options[word.lstrip("-").replace("-", "_")] = words[index + 1] if index + 1 < len(words) else ""
            index += 2
    if index >= len(words):
        raise NotALaunch("the launcher names no script")
    return options, words[index], words[index + 1:]


def _number(text: Optional[str]) -> Optional[int]:
    return int(text) if text is not None and text.isdigit() else None


def _script(path: str, base: Path) -> str:
    return path if Path(path).is_absolute() else str(base / path)


def _accelerate(words: list[str], base: Path, source: LaunchSource, env: dict) -> Launch:
    options, script, argv = _split(words, _ACCELERATE_FLAGS)
    unknowns: list[Unknown] = []
    config = None
    named = options.get("config_file")
    path = (Path(named) if Path(named).is_absolute() else base / named) if named else default_accelerate_config()
    if path is not None:
        try:
            config = read_accelerate(path)
        except ConfigError as error:
            unknowns.append(Unknown("accelerate config", str(error)))
    values = dict(config.values) if config is not None else {}
    # The command line overrides the YAML, as accelerate's launch_command does.
    for key in ("num_processes", "num_machines", "mixed_precision"):
        if key in options:
            values[key] = options[key]
    world, machines = _number(str(values["num_processes"])) if "num_processes" in values else None, \
        _number(str(values.get("num_machines", 1)))
    if world is None:
        if "cpu" in options or values.get("use_cpu") is True:
            world = 1  # accelerate's default on the CPU (measured: one process, `--cpu` or not, without the count)
        else:
            unknowns.append(Unknown("world size", "no --num_processes and no config file says it: accelerate "
                                                  "starts one process per visible GPU"))
    deepspeed = None
    if config is not None:
        try:
            deepspeed = deepspeed_of_accelerate(config, base)
        except ConfigError as error:
            unknowns.append(Unknown("deepspeed config", str(error)))
    if "deepspeed_config_file" in options:
        deepspeed = _json_or_unknown(options["deepspeed_config_file"], base, unknowns)
    deepspeed = _script_deepspeed(argv, base, unknowns) or deepspeed
    precision = str(values.get("mixed_precision") or "")
    return Launch(Launcher.ACCELERATE, _script(script, base), tuple(argv), world, machines, precision, config,
                  deepspeed, tuple(sorted(env.items())), tuple(unknowns), source)


def _torchrun(words: list[str], base: Path, source: LaunchSource, env: dict) -> Launch:
    options, script, argv = _split(words, _TORCHRUN_FLAGS)
    unknowns: list[Unknown] = []
    nnodes = options.get("nnodes", "1")
    per_node = options.get("nproc_per_node", "1")
    machines, each = _number(nnodes), _number(per_node)
    world = machines * each if machines is not None and each is not None else None
    if world is None:
        unknowns.append(Unknown("world size", f"torchrun --nnodes {nnodes} --nproc_per_node {per_node}: an elastic "
                                              "range or a device count decided at run time"))
    deepspeed = _script_deepspeed(argv, base, unknowns)
    return Launch(Launcher.TORCHRUN, _script(script, base), tuple(argv), world, machines, "", None, deepspeed,
                  tuple(sorted(env.items())), tuple(unknowns), source)


def _deepspeed(words: list[str], base: Path, source: LaunchSource, env: dict) -> Launch:
    options, script, argv = _split(words, _DEEPSPEED_FLAGS)
    unknowns: list[Unknown] = []
    gpus, nodes = _number(options.get("num_gpus")), _number(options.get("num_nodes", "1"))
    world = gpus * nodes if gpus is not None and nodes is not None else None
    if world is None:
        unknowns.append(Unknown("world size", "no --num_gpus: the deepspeed launcher uses every GPU of every host "
                                              "its hostfile names"))
    deepspeed = _script_deepspeed(argv, base, unknowns)
    return Launch(Launcher.DEEPSPEED, _script(script, base), tuple(argv), world, nodes, "", None, deepspeed,
                  tuple(sorted(env.items())), tuple(unknowns), source)


def _script_deepspeed(argv: list[str], base: Path, unknowns: list[Unknown]):
    """The DeepSpeed JSON the script's TrainingArguments name (`--deepspeed ds.json`)."""
    for index, word in enumerate(argv):
        if word == "--deepspeed" and index + 1 < len(argv):
            return _json_or_unknown(argv[index + 1], base, unknowns, DeepSpeedVia.TRAINING_ARGUMENTS)
        if word.startswith("--deepspeed="):
            return _json_or_unknown(word.partition("=")[2], base, unknowns, DeepSpeedVia.TRAINING_ARGUMENTS)
    return None


def _json_or_unknown(named: str, base: Path, unknowns: list[Unknown], via: DeepSpeedVia = DeepSpeedVia.ACCELERATE):
    path = Path(named) if Path(named).is_absolute() else base / named
    try:
        return read_deepspeed_json(path, via)
    except ConfigError as error:
        unknowns.append(Unknown("deepspeed config", str(error)))
        return None


def command_launch(words: list[str], base: Path = Path(".")) -> Launch:
    """The launch a command line (`accelerate launch ... train.py ...`) starts; raises NotALaunch."""
    return parse_command(list(words), base, LaunchSource(text=" ".join(words)))
