"""The guard on every written fix and port: the new text reads no name that nothing binds (issue 21)."""

from __future__ import annotations

import textwrap

from ppodoctor.config import Settings
from ppodoctor.pipeline.fix import fix_source
from ppodoctor.pipeline.migrate import migrate_source
from ppodoctor.rules.ppd109_value_is_policy import ValueIsPolicy
from ppodoctor.trl_api.eras import Target, Version
from ppodoctor.types import Edit
from ppodoctor.unbound import new_unbound, read_too_early, unbound_names

TARGET = Target(Version.parse("1.12.0"), "--trl-version")

VALUE_IS_POLICY = textwrap.dedent("""\
    from transformers import AutoModelForCausalLM, AutoModelForSequenceClassification, AutoTokenizer
    from trl.experimental.ppo import PPOConfig, PPOTrainer

    tok = AutoTokenizer.from_pretrained("sft")
    tok.add_special_tokens({"pad_token": "[PAD]"})
    policy = AutoModelForCausalLM.from_pretrained("sft")
    ref = AutoModelForCausalLM.from_pretrained("sft")
    rm = AutoModelForSequenceClassification.from_pretrained("rm", num_labels=1)
    trainer = PPOTrainer(args=PPOConfig(output_dir="out"), processing_class=tok, model=policy, ref_model=ref,
                         reward_model=rm, value_model=policy, train_dataset=None)
    """)


def test_unbound_names_are_the_globals_nothing_binds():
    text = textwrap.dedent("""\
        import os.path
        from a import b as c
        def f(x):
            global g
            g = x
            return os, c, y, [i for i in range(3)], __file__
        class K:
            z = w
        try:
            pass
        except Exception as e:
            print(e)
        """)
    assert unbound_names(text) == {"y", "w"}
    assert unbound_names("from m import *\nprint(anything)\n") is None  # cannot be told
    assert unbound_names("x = (\n") is None
    assert unbound_names("display(get_ipython())\n", notebook=True) == frozenset()


def test_a_top_level_read_above_its_binding_is_too_early():
    text = "a = b\nb = 1\ndef f():\n    return later\nlater = 2\nfor i in range(2):\n    k = i\nprint(k)\n"
    assert read_too_early(text) - {"print", "range"} == {"b"}
    assert new_unbound("t = 1\nx = f(t)\n", "t = 1\nx = f(t, critic)\ncritic = 2\n") == {"critic"}
    assert new_unbound("x = f(y)\n", "x = f(y)\nz = 1\n") == frozenset()  # `y` was unbound already


def test_fix_refuses_an_edit_that_reads_an_unbound_name(monkeypatch):
    assert fix_source(VALUE_IS_POLICY, "train.py", Settings(), TARGET, unsafe=True).applied  # the real fix lands

    def bad_fix(self, diagnostic, context):  # an edit that names a critic nothing defines
        return (context.source.replace_span(context.setup.role("value").value_span, "undefined_critic"),)

    monkeypatch.setattr(ValueIsPolicy, "fix", bad_fix)
    result = fix_source(VALUE_IS_POLICY, "train.py", Settings(), TARGET, unsafe=True)
    assert "undefined_critic" not in result.text and not result.applied
    reasons = {s.diagnostic.code: s.reason for s in result.skipped}
    assert reasons["PPD109"] == "the fixed code would read `undefined_critic` where nothing binds it"


def test_migrate_refuses_a_port_that_reads_a_name_bound_only_in_a_helper():
    text = textwrap.dedent("""\
        from transformers import AutoModelForCausalLM, AutoModelForSequenceClassification, AutoTokenizer
        from trl import PPOConfig, PPOTrainer


        def trainer_kwargs():
            tok = AutoTokenizer.from_pretrained("sft")
            policy = AutoModelForCausalLM.from_pretrained("sft")
            ref = AutoModelForCausalLM.from_pretrained("sft")
            rm = AutoModelForSequenceClassification.from_pretrained("rm", num_labels=1)
            critic = AutoModelForSequenceClassification.from_pretrained("rm", num_labels=1)
            return dict(processing_class=tok, model=policy, ref_model=ref, reward_model=rm, value_model=critic)


        trainer = PPOTrainer(args=PPOConfig(output_dir="out"), train_dataset=dataset, **trainer_kwargs())
        trainer.train()
        """)
    migration = migrate_source(text, "train.py")
    assert not migration.changed
    assert migration.declined == "the ported code would read `tok` where nothing binds it; nothing is changed"
