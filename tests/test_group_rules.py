"""The PPD6xx rules on RLOOTrainer/GRPOTrainer scripts: where they fire, where they must not, their fixes."""

from __future__ import annotations

import textwrap

import pytest

from ppodoctor.api import check_source
from ppodoctor.pipeline.fix import fix_source
from ppodoctor.trl_api.eras import Target

HEAD = '''
from datasets import Dataset
from trl import GRPOConfig, GRPOTrainer, RLOOConfig, RLOOTrainer
ds = Dataset.from_dict({"prompt": ["a", "b"], "answer": ["x", "y"]})
def reward(completions, **kwargs):
    return [0.0 for _ in completions]
'''


def script(body: str) -> str:
    return textwrap.dedent(HEAD) + textwrap.dedent(body)


def findings(source: str, version: str = "1.16.0", prefix: str = "PPD6"):
    report = check_source(source, "train.py", target=Target.of(version))
    assert report.error is None, report.error
    return [d for d in report.diagnostics if d.code.startswith(prefix)]


def codes(source: str, version: str = "1.16.0") -> list[str]:
    return [d.code for d in findings(source, version)]


def fixed(source: str, code: str) -> str:
    result = fix_source(source.encode(), "train.py", target=Target.of("1.16.0"), unsafe=True)
    assert not result.error, result.error
    return result.text


def trainer(config: str, kind: str = "GRPO", funcs: str = "reward", dataset: str = "ds") -> str:
    return (f"config = {kind}Config(output_dir='o', {config})\n"
            f"trainer = {kind}Trainer(model='m', reward_funcs={funcs}, args=config, train_dataset={dataset})\n")


# --- PPD601 / PPD602 ----------------------------------------------------------------------------------
@pytest.mark.parametrize("config, kind, expected", [
    ("per_device_train_batch_size=2, num_generations=3", "GRPO", ["PPD601"]),
    ("per_device_train_batch_size=1", "RLOO", ["PPD601"]),  # RLOO's default num_generations is 2
    ("per_device_train_batch_size=3", "GRPO", ["PPD601"]),  # GRPO's default is 8
    ("per_device_train_batch_size=2, steps_per_generation=3, num_generations=4", "GRPO", ["PPD601"]),
    ("per_device_train_batch_size=2, gradient_accumulation_steps=2, num_generations=4", "GRPO", []),
    ("per_device_train_batch_size=2, steps_per_generation=2, num_generations=4", "RLOO", []),
    ("per_device_train_batch_size=4, generation_batch_size=16, num_generations=8", "GRPO", []),
    # both set: TRL's other error comes first
    ("per_device_train_batch_size=2, generation_batch_size=4, steps_per_generation=2, num_generations=3", "GRPO",
     []),
    # generation_batch_size not a multiple of the global batch (2 × 1 process): TRL's first error
    ("per_device_train_batch_size=2, generation_batch_size=3, num_generations=3", "GRPO", ["PPD601"]),
    ("per_device_train_batch_size=2, num_generations=1", "GRPO", ["PPD602"]),
    ("per_device_train_batch_size=2, num_generations=0", "RLOO", ["PPD602"]),
    ("per_device_train_batch_size=n, num_generations=3", "GRPO", []),  # not visible: silent
    ("", "GRPO", []),  # defaults: 8 × 1 over 8
])
def test_generation_rules(config, kind, expected):
    assert codes(script(trainer(config, kind))) == expected


def test_the_generation_message_says_one_process_is_assumed():
    (finding,) = findings(script(trainer("per_device_train_batch_size=2, num_generations=3")))
    assert "1 process, assumed" in finding.message
    assert "generation_batch_size (2) must be divisible by num_generations (3)" in finding.message


def test_the_generation_rules_need_the_reward_funcs_trainer():
    # trl 0.12's RLOOTrainer is PPO-like (config=, policy=): the rules do not judge it there.
    assert codes(script(trainer("per_device_train_batch_size=2, num_generations=3")), "0.12.2") == []
    assert codes(script(trainer("per_device_train_batch_size=2, num_generations=3")), "1.12.0") == ["PPD601"]


@pytest.mark.parametrize("config, kind, written", [
    ("per_device_train_batch_size=2, num_generations=3", "GRPO", "num_generations=2"),
    ("per_device_train_batch_size=6, num_generations=4", "GRPO", "num_generations=3"),
    ("per_device_train_batch_size=1", "RLOO", "per_device_train_batch_size=2"),
    ("per_device_train_batch_size=3", "GRPO", "per_device_train_batch_size=3, num_generations=3)"),  # added
    ("per_device_train_batch_size=4, generation_batch_size=12, num_generations=8", "GRPO", "num_generations=6"),
    ("per_device_train_batch_size=2, num_generations=1", "GRPO", "num_generations=2"),
])
def test_generation_fixes(config, kind, written):
    text = fixed(script(trainer(config, kind)), "PPD601")
    assert written in text, text
    assert codes(text) == []


def test_a_field_set_after_the_call_gets_no_fix():
    source = script("config = GRPOConfig(output_dir='o', per_device_train_batch_size=2)\n"
                    "config.num_generations = 3\n"
                    "trainer = GRPOTrainer(model='m', reward_funcs=reward, args=config, train_dataset=ds)\n")
    (finding,) = findings(source)
    assert finding.code == "PPD601" and finding.fix is None


# --- PPD603 -------------------------------------------------------------------------------------------
OK_CONFIG = "per_device_train_batch_size=2, num_generations=2"


@pytest.mark.parametrize("definition, funcs, expected", [
    ("def f(completions):\n    return [0.0]\n", "f", ["PPD603"]),
    ("def f(completions, answer, **kwargs):\n    return [0.0]\n", "[f]", []),  # `answer` is a column
    ("def f(completions, missing, **kwargs):\n    return [0.0]\n", "[reward, f]", ["PPD603"]),
    ("def f(completions, /, **kwargs):\n    return [0.0]\n", "f", ["PPD603"]),
    ("def f(completions, missing=None, **kwargs):\n    return [0.0]\n", "f", []),
    ("def f(prompts, completions, completion_ids, answer, trainer_state, log_extra, log_metric):\n"
     "    return [0.0]\n", "f", []),  # every keyword named: no **kwargs needed
    ("def f(completions, **kwargs):\n    return 1.0\n", "f", ["PPD603"]),
    ("def f(completions, **kwargs):\n    print(completions)\n", "f", ["PPD603"]),  # returns None
    ("def f(completions, **kwargs):\n    if completions:\n        return [1.0]\n    return 0.0\n", "f", []),
    ("def f(completions, **kwargs):\n    return torch.tensor(0.5)\n", "f", ["PPD603"]),
    ("def f(completions, **kwargs):\n    return scores(completions)\n", "f", []),
    ("def f(completions, **kwargs):\n    for c in completions:\n        yield 1.0\n", "f", []),
    ("", "lambda completions: [0.0] * len(completions)", ["PPD603"]),
    ("", "lambda completions, **kw: [0.0] * len(completions)", []),
    ("from rewards import f\n", "f", []),  # not visible: silent
    ("", "'models/rm'", []),
    # functools.partial: the parameters it leaves (bound by position: gone; by keyword: given a default)
    ("import functools\ndef f(completions, k):\n    return [0.0]\n", "functools.partial(f, k=1)", ["PPD603"]),
    ("import functools\ndef f(completions, k, **kw):\n    return [0.0]\n", "[functools.partial(f, k=1)]", []),
    ("import functools\ndef f(completions, missing, **kw):\n    return [0.0]\n", "functools.partial(f, missing=1)",
     []),
    ("import functools\ndef f(scale, /, completions, **kw):\n    return [0.0]\n", "functools.partial(f, 2.0)", []),
    ("import functools\ndef f(scale, /, completions, **kw):\n    return [0.0]\n", "functools.partial(f)",
     ["PPD603"]),
    ("from functools import partial\ndef f(completions, a, b, **kw):\n    return [0.0]\n",
     "partial(partial(f, a=1), b=2)", []),
    ("from functools import partial\n", "partial(lambda completions, k: [0.0], k=1)", ["PPD603"]),
    ("import functools\nfrom rewards import f\n", "functools.partial(f, k=1)", []),  # not visible: silent
])
def test_reward_function_signature(definition, funcs, expected):
    assert codes(script(definition + trainer(OK_CONFIG, funcs=funcs))) == expected


def test_a_required_parameter_is_judged_only_when_the_columns_are_visible():
    source = script("def f(completions, answer, **kwargs):\n    return [0.0]\n"
                    + trainer(OK_CONFIG, funcs="f", dataset="load_dataset('json', data_files='x.jsonl')"))
    assert codes(source) == []


@pytest.mark.parametrize("definition, funcs, written", [
    ("def f(completions):\n    return [0.0]\n", "f", "def f(completions, **kwargs):"),
    ("def f(\n    completions,\n):\n    return [0.0]\n", "f", "    completions, **kwargs,\n"),
    ("def f():\n    return [0.0, 0.0]\n", "[f]", "def f(**kwargs):"),
    ("", "lambda completions: [0.0] * len(completions)", "lambda completions, **kwargs: [0.0]"),
    ("", "lambda: [0.0, 0.0]", "lambda **kwargs: [0.0, 0.0]"),
])
def test_the_signature_fix_adds_kwargs(definition, funcs, written):
    text = fixed(script(definition + trainer(OK_CONFIG, funcs=funcs)), "PPD603")
    assert written in text, text
    assert codes(text) == []


def test_a_missing_column_or_a_number_has_no_fix():
    for definition in ("def f(completions, missing, **kwargs):\n    return [0.0]\n",
                       "def f(completions, **kwargs):\n    return 1.0\n"):
        (finding,) = findings(script(definition + trainer(OK_CONFIG, funcs="f")))
        assert finding.fix is None


# --- PPD604 / PPD605 -----------------------------------------------------------------------------------
@pytest.mark.parametrize("dataset, expected", [
    ("Dataset.from_dict({'question': ['a']})", ["PPD604"]),
    ("Dataset.from_list([{'text': 'a'}])", ["PPD604"]),
    ("Dataset.from_dict({'question': ['a']}).rename_column('question', 'prompt')", []),
    ("Dataset.from_dict({'prompt': ['a']}).map(lambda r: {'n': 1})", []),
    ("Dataset.from_dict({'prompt': ['a']}).remove_columns(['prompt'])", ["PPD604"]),
    ("load_dataset('trl-lib/tldr', split='train')", []),
    ("Dataset.from_dict(data)", []),
])
def test_prompt_column(dataset, expected):
    assert codes(script(trainer(OK_CONFIG, dataset=dataset))) == expected


@pytest.mark.parametrize("load, expected", [
    ("AutoModelForSequenceClassification.from_pretrained('org/judge', num_labels=2)", ["PPD605"]),
    ("AutoModelForSequenceClassification.from_pretrained('org/judge', num_labels=1)", []),
    ("AutoModelForSequenceClassification.from_pretrained('org/judge')", []),  # nothing on disk: silent
    ("AutoModelForCausalLM.from_pretrained('org/lm', num_labels=2)", []),
])
def test_reward_model_labels(load, expected):
    source = script("from transformers import AutoModelForCausalLM, AutoModelForSequenceClassification\n"
                    f"judge = {load}\n" + trainer(OK_CONFIG, funcs="[reward, judge]"))
    assert codes(source) == expected


def test_no_ppd6_rule_judges_a_ppo_call():
    source = script("from trl.experimental.ppo import PPOConfig, PPOTrainer\n"
                    "def f(completions):\n    return 1.0\n"
                    "trainer = PPOTrainer(args=PPOConfig(output_dir='o', num_generations=1), model=policy, "
                    "reward_model=f, train_dataset=Dataset.from_dict({'question': ['a']}))\n")
    assert codes(source, "1.12.0") == []


# --- PPD606 --------------------------------------------------------------------------------------------
@pytest.mark.parametrize("config, kind, expected", [
    ("kl_coef=0.05, " + OK_CONFIG, "GRPO", ["PPD606"]),
    ("cliprange=0.2, vf_coef=0.1, " + OK_CONFIG, "RLOO", ["PPD606", "PPD606"]),
    ("total_episodes=100, " + OK_CONFIG, "GRPO", ["PPD606"]),
    ("init_kl_coef=0.2, " + OK_CONFIG, "GRPO", ["PPD606"]),  # a <= 0.11 PPOConfig field
    ("score_clip=1.0, " + OK_CONFIG, "GRPO", ["PPD606"]),  # RLOO has reward_clip_range, GRPO nothing
    ("beta=0.05, epsilon=0.2, temperature=0.7, learning_rate=1e-5, " + OK_CONFIG, "GRPO", []),
    ("num_iterations=2, max_completion_length=8, " + OK_CONFIG, "RLOO", []),
])
def test_ppo_field_in_group_config(config, kind, expected):
    assert codes(script(trainer(config, kind))) == expected


def test_a_renamed_ppo_field_is_renamed_and_a_dropped_one_left_to_the_user():
    text = fixed(script(trainer("kl_coef=0.05, cliprange=0.2, vf_coef=0.1, " + OK_CONFIG, "RLOO")), "PPD606")
    assert "beta=0.05, epsilon=0.2, vf_coef=0.1" in text
    assert codes(text) == ["PPD606"]
    # the new name already written: renaming would pass it twice
    (finding,) = findings(script(trainer("kl_coef=0.05, beta=0.1, " + OK_CONFIG)))
    assert finding.fix is None


# --- PPD607 --------------------------------------------------------------------------------------------
def test_use_vllm_without_vllm_in_the_target_interpreter(tmp_path):
    import dataclasses

    from migrate_helpers import trl116_python

    python = trl116_python()
    if python is None:
        pytest.skip("no trl 1.16 interpreter")
    # The same interpreter with a vllm package on its path: TRL's own check (find_spec) would pass.
    (tmp_path / "site" / "vllm").mkdir(parents=True)
    (tmp_path / "site" / "vllm" / "__init__.py").write_text("")
    with_vllm = tmp_path / "python"
    with_vllm.write_text(f'#!/bin/sh\nPYTHONPATH="{tmp_path / "site"}" exec "{python}" "$@"\n')
    with_vllm.chmod(0o755)
    source = script(trainer("use_vllm=True, " + OK_CONFIG))

    def found(interpreter: str, version: str = "1.16.0"):
        target = dataclasses.replace(Target.of(version), python=interpreter, trl_path="site-packages")
        report = check_source(source, "train.py", target=target)
        return [d for d in report.diagnostics if d.code.startswith("PPD6")]

    (finding,) = found(python)
    assert finding.code == "PPD607" and "vLLM is not available" in finding.message
    assert found(str(with_vllm)) == []
    assert codes(source) == []  # a bare --trl-version: what is installed is not known
    assert found(python).__len__() == 1 and codes(script(trainer("use_vllm=False, " + OK_CONFIG))) == []
    text = fixed(source, "PPD607")
    assert "use_vllm=True" in text  # no interpreter: no finding, nothing to fix


# --- PPD608 --------------------------------------------------------------------------------------------
@pytest.mark.parametrize("funcs, classes, expected", [
    ("[reward, 'models/rm']", "tok", ["PPD608"]),
    ("['models/rm']", "[None, None]", ["PPD608"]),
    ("[reward, 'models/rm']", "[None, tok]", []),
    ("'models/rm'", "tok", []),
    ("[reward, 'models/rm']", "None", []),
    ("funcs", "tok", []),  # not visible: silent
    ("[reward, 'models/rm']", "tokenizers", []),
])
def test_reward_processing_classes_count(funcs, classes, expected):
    call = trainer(OK_CONFIG, funcs=funcs).replace("train_dataset=ds)",
                                                   f"train_dataset=ds, reward_processing_classes={classes})")
    source = script("from transformers import AutoTokenizer\ntok = AutoTokenizer.from_pretrained('models/rm')\n" + call)
    assert codes(source) == expected


def test_one_tokenizer_for_several_entries_is_paired_by_the_fix():
    source = script("from transformers import AutoTokenizer\ntok = AutoTokenizer.from_pretrained('models/rm')\n"
                    + trainer(OK_CONFIG, funcs="[reward, 'models/rm', reward]").replace(
                        "train_dataset=ds)", "train_dataset=ds, reward_processing_classes=tok)"))
    text = fixed(source, "PPD608")
    assert "reward_processing_classes=[None, tok, None]" in text
    assert codes(text) == []


# --- PPD609 -------------------------------------------------------------------------------------------
COPY_HEAD = "import dataclasses\nfrom trl import GRPOConfig, GRPOTrainer\n"


@pytest.mark.parametrize("config, expected, added", [
    ("dataclasses.replace(GRPOConfig(output_dir='o'), learning_rate=1e-5)", ["PPD609"],
     "generation_batch_size=None, steps_per_generation=None"),
    ("dataclasses.replace(GRPOConfig(output_dir='o', generation_batch_size=8), beta=0.1)", ["PPD609"],
     "steps_per_generation=None"),
    ("dataclasses.replace(GRPOConfig(output_dir='o'), steps_per_generation=2)", ["PPD609"], "generation_batch_size=None"),
    ("dataclasses.replace(GRPOConfig(output_dir='o'), beta=0.1, generation_batch_size=None, steps_per_generation=None)",
     [], None),
    ("dataclasses.replace(GRPOConfig(output_dir='o'), steps_per_generation=None)", [], None),  # computed again
    ("dataclasses.replace(GRPOConfig(output_dir='o'), steps_per_generation=STEPS)", [], None),  # may be None
    ("GRPOConfig(output_dir='o', learning_rate=1e-5)", [], None),  # built, not copied
    ("dataclasses.replace(SHARED_CONFIG, beta=0.1)", [], None),  # the original is not visible
])
def test_group_config_copied(config, expected, added):
    source = COPY_HEAD + f"config = {config}\n" + \
        "trainer = GRPOTrainer(model='m', reward_funcs='org/rm', args=config, train_dataset=ds)\n"
    assert [code for code in codes(source) if code == "PPD609"] == expected
    if added:
        text = fixed(source, "PPD609")
        assert f", {added})" in text and compile(text, "train.py", "exec") and "PPD609" not in codes(text)
