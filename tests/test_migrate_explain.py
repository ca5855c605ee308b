"""`ppodoctor explain` on RLOOTrainer / GRPOTrainer errors: the measured messages, and a re-measure in trl 1.16."""

from __future__ import annotations

import json
import subprocess

import pytest
from click.testing import CliRunner

from migrate_helpers import trl116_python
from ppodoctor.cli import main
from ppodoctor.explain import match_errors
from ppodoctor.migrate.errors import SUCCESSOR_ERRORS

# As trl 1.16.0 raised them on CPU (tiny Llama models), with the key each must map to.
MEASURED = [
    ("ValueError: generation_batch_size (2) must be divisible by num_generations (8).", "generations-divide"),
    ("ValueError: GRPO requires at least 2 generations per prompt to calculate the advantages. You provided 1, "
     "which is less than the minimum required.", "generations-at-least-two"),
    ("ValueError: generation_batch_size (3) must be divisible by the global batch size (2).",
     "global-batch-divides"),  # PPD601's since it judges the launch's world size
    ("ValueError: 'generation_batch_size' and 'steps_per_generation' can not be both configured at the same time",
     "generation-batch-and-steps"),
    ("TypeError: RLOOTrainer.__init__() got an unexpected keyword argument 'value_model'",
     "ppo-keyword-on-successor"),
    ("TypeError: GRPOTrainer.__init__() got an unexpected keyword argument 'ref_model'", "ppo-keyword-on-successor"),
    ("TypeError: RLOOConfig.__init__() got an unexpected keyword argument 'kl_coef'", "ppo-field-on-successor-config"),
    ("TypeError: RLOOTrainer.__init__() missing 1 required positional argument: 'reward_funcs'",
     "reward-funcs-missing"),
    ("ValueError: No reward source provided. Pass `reward_funcs`, or an `environment_factory` whose environment "
     "defines a `get_reward` method.", "reward-funcs-missing"),
    ("ValueError: The number of reward processing classes (2) must match the number of reward functions (1).",
     "reward-processing-classes-count"),
    ("KeyError: 'prompt'", "prompt-column-missing"),
    ("RuntimeError: expand(torch.FloatTensor{[2, 64]}, size=[2]): the number of sizes provided (1) must be greater "
     "or equal to the number of dimensions in the tensor (2)", "reward-not-classifier"),
]


@pytest.mark.parametrize("message,key", MEASURED, ids=[key for _m, key in MEASURED])
def test_measured_successor_errors_are_known(message, key):
    matches = match_errors(message)
    assert matches and matches[0].known.key == key


def test_ppo_errors_still_map_to_their_rules():
    assert match_errors("TypeError: PPOTrainer.__init__() got an unexpected keyword argument 'args'")[0].known.key \
        == "other-era-keyword"
    assert match_errors("TypeError: PPOConfig.__init__() got an unexpected keyword argument 'ppo_epochs'")[0].known.key \
        == "old-config-field"


def test_explain_points_to_migrate():
    result = CliRunner().invoke(main, ["explain", MEASURED[3][0]])
    assert result.exit_code == 0
    assert "caught by: `ppodoctor migrate --to rloo|grpo`" in result.output
    assert "steps_per_generation" in result.output
    as_json = json.loads(CliRunner().invoke(main, ["explain", "--json", MEASURED[3][0]]).output)
    assert as_json[0]["caught_by"].startswith("`ppodoctor migrate")


_REMEASURE = """
import json, tempfile, warnings
warnings.simplefilter("ignore")
from trl import GRPOConfig, GRPOTrainer, RLOOConfig, RLOOTrainer
out = []
def attempt(action):
    try:
        action()
    except Exception as error:
        out.append(f"{type(error).__name__}: {str(error).splitlines()[0]}")
    else:
        out.append("no error")
base = dict(output_dir=tempfile.mkdtemp(), use_cpu=True, bf16=False, per_device_train_batch_size=2, report_to="none")
attempt(lambda: GRPOConfig(**base))
attempt(lambda: RLOOConfig(**base, num_generations=1))
attempt(lambda: RLOOConfig(**base, generation_batch_size=3))
attempt(lambda: GRPOConfig(**base, num_generations=2, generation_batch_size=4, steps_per_generation=2))
attempt(lambda: RLOOTrainer.__init__(object.__new__(RLOOTrainer), model=None, reward_funcs=None, value_model=1))
attempt(lambda: GRPOTrainer.__init__(object.__new__(GRPOTrainer), model=None, ref_model=1))
attempt(lambda: RLOOConfig(**base, kl_coef=0.1))
attempt(lambda: RLOOTrainer.__init__(object.__new__(RLOOTrainer), model=None))
print(json.dumps(out))
"""


def test_the_messages_are_what_trl_116_raises():
    python = trl116_python()
    if python is None:
        pytest.skip("no trl 1.16 interpreter (.venv-trl116; scripts/setup makes it)")
    done = subprocess.run([python, "-c", _REMEASURE], capture_output=True, text=True, timeout=300,
                          env={"PATH": "/usr/bin:/bin", "HF_HUB_OFFLINE": "1"})
    assert done.returncode == 0, done.stderr[-2000:]
    raised = json.loads(done.stdout.strip().splitlines()[-1])
    expected = ["generations-divide", "generations-at-least-two", "global-batch-divides",
                "generation-batch-and-steps", "ppo-keyword-on-successor", "ppo-keyword-on-successor",
                "ppo-field-on-successor-config", "reward-funcs-missing"]
    for message, key in zip(raised, expected):
        matches = match_errors(message)
        assert matches and matches[0].known.key == key, message
    # The texts above are these very messages (the RLOO and GRPO wordings differ only in the name).
    measured = [m for m, _k in MEASURED]
    for index in (0, 2, 3, 4, 6, 7):
        assert raised[index] in measured, raised[index]
    # One entry per error: those a PPD6xx rule catches on any RLOO/GRPO script are the rule's.
    assert {known.key for known in SUCCESSOR_ERRORS} | RULE_OWNED == {k for _m, k in MEASURED}
    assert not {known.key for known in SUCCESSOR_ERRORS} & RULE_OWNED


RULE_OWNED = {"generations-divide", "generations-at-least-two", "global-batch-divides", "prompt-column-missing",
              "ppo-field-on-successor-config", "reward-processing-classes-count"}


def test_the_errors_a_rule_catches_are_the_rules():
    for message, key in MEASURED:
        matches = match_errors(message)
        if key in RULE_OWNED:
            assert matches[0].known.codes[0].startswith("PPD6"), (message, matches[0].known.codes)
