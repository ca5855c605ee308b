"""Resolution where real code keeps its objects (issue 12 item 1): instance attributes, containers and
registries, helpers' operations, dicts built step by step, callers' arguments, derived model paths,
dataset chains; and the unknowns that must stay unknown, with a reason."""

from __future__ import annotations

import textwrap

import libcst

from ppodoctor.pipeline.fix import fix_source
from ppodoctor.setup import kinds
from ppodoctor.setup import model as m
from ppodoctor.setup.extract import extract
from ppodoctor.trl_api.eras import Target
from ppodoctor.types import ModelKind, Role

HEAD = """
from transformers import AutoModelForCausalLM, AutoModelForSequenceClassification, AutoTokenizer
from trl.experimental.ppo import PPOConfig, PPOTrainer
"""


def setups(source: str) -> tuple[m.PPOSetup, ...]:
    return extract(libcst.parse_module(HEAD + textwrap.dedent(source)), "t.py").setups


def one(source: str) -> m.PPOSetup:
    found = setups(source)
    assert len(found) == 1, found
    return found[0]


def ops(origin: m.Origin) -> list[tuple[str, str]]:
    return [(op.kind, op.name) for op in origin.all_operations()]


CLASS = """
class Pipeline:
    def __init__(self, sft="org/sft", labels=1, batch=8):
        self.cfg = PPOConfig(output_dir="out", per_device_train_batch_size=batch)
        self.tok = AutoTokenizer.from_pretrained(sft)
        self.tok.pad_token = self.tok.eos_token
        self.policy = AutoModelForCausalLM.from_pretrained(sft)
        self._load_scorers(labels)

    def _load_scorers(self, labels):
        self.reward = AutoModelForSequenceClassification.from_pretrained("org/rm", num_labels=labels)
        self.critic = self.policy

    def build(self, data):
        self.trainer = PPOTrainer(args=self.cfg, processing_class=self.tok, model=self.policy, ref_model=None,
                                  reward_model=self.reward, value_model=self.critic, train_dataset=data)

    def run(self):
        self.build(ds)
        self.trainer.train()
"""


def test_instance_attributes_are_read_off_the_method_that_assigns_them():
    setup = one(CLASS + "Pipeline(batch=6).run()\n")
    policy, value = setup.origin(Role.POLICY), setup.origin(Role.VALUE)
    assert policy.kind == "from_pretrained" and policy.path.value == "org/sft"
    assert kinds.same_object(policy, value), "self.critic = self.policy is the policy object"
    assert setup.origin(Role.CONFIG).keyword("per_device_train_batch_size").value.value == 6, "from the one instantiation"
    assert ("set", "pad_token") in ops(setup.origin(Role.PROCESSING_CLASS)), "self.tok.pad_token = ... acts on it"
    assert setup.origin(Role.REWARD).keyword("num_labels").value.value == 1, "the default, passed on by a method call"
    assert [u.name for u in setup.usages] == ["train"], "self.trainer.train() is a call on the trainer"
    assert setup.origin(Role.TRAIN_DATASET).key == "global:ds", "build(data) has one caller: data is ds"


def test_constructor_parameters_without_one_instantiation():
    assert one(CLASS).origin(Role.CONFIG).keyword("per_device_train_batch_size").value.value == 8, "no call: defaults"
    same = one(CLASS + "Pipeline(sft='org/sft')\nPipeline(labels=1)\n").origin(Role.CONFIG)
    assert same.keyword("per_device_train_batch_size").value.value == 8, "no call passes batch: its default"
    varied = one(CLASS + "Pipeline(batch=6)\nPipeline(batch=12)\n").origin(Role.CONFIG)
    batch = varied.keyword("per_device_train_batch_size").value
    assert not batch.known and "passed differently" in batch.reason


def test_attributes_set_in_branches_or_in_two_methods_stay_unknown():
    branches = one("""
        class A:
            def __init__(self, peft):
                if peft:
                    self.ref = None
                else:
                    self.ref = AutoModelForCausalLM.from_pretrained("sft")
                self.critic = None
            def load(self):
                self.critic = AutoModelForSequenceClassification.from_pretrained("rm", num_labels=1)
            def build(self):
                return PPOTrainer(args=cfg, model=m, ref_model=self.ref, value_model=self.critic)
        """)
    assert not branches.origin(Role.REFERENCE).known and "branches" in branches.origin(Role.REFERENCE).reason
    assert "either order" in branches.origin(Role.VALUE).reason
    unset = one("class B:\n    def build(self):\n        return PPOTrainer(model=self.policy)\n").origin(Role.POLICY)
    assert not unset.known and "not assigned" in unset.reason


def test_attributes_of_a_base_class_and_of_an_instance_built_outside():
    setup = one("""
        class Base:
            def __init__(self, path):
                self.policy, self.ref = (AutoModelForCausalLM.from_pretrained(path),
                                         AutoModelForCausalLM.from_pretrained(path))
        class Child(Base):
            def trainer(self):
                return PPOTrainer(args=cfg, model=self.policy, ref_model=self.ref)
        job = Child("org/sft")
        """)
    assert setup.origin(Role.POLICY).path.value == "org/sft" and setup.origin(Role.REFERENCE).known
    assert not kinds.same_object(setup.origin(Role.POLICY), setup.origin(Role.REFERENCE))
    outside = one("""
        class Models:
            def __init__(self, path):
                self.policy = AutoModelForCausalLM.from_pretrained(path)
        a, b = Models("one"), Models("two")
        PPOTrainer(args=cfg, model=a.policy, ref_model=b.policy)
        """)
    assert (outside.origin(Role.POLICY).path.value, outside.origin(Role.REFERENCE).path.value) == ("one", "two")
    assert not kinds.same_object(outside.origin(Role.POLICY), outside.origin(Role.REFERENCE)), "two instances"


def test_containers_returned_by_helpers_unpacked_or_subscripted():
    setup = one("""
        def load():
            tok = AutoTokenizer.from_pretrained("sft")
            return tok, [AutoModelForCausalLM.from_pretrained("sft"), AutoModelForCausalLM.from_pretrained("sft")]
        def scorers():
            out = {"reward": AutoModelForSequenceClassification.from_pretrained("rm", num_labels=1)}
            out["value"] = AutoModelForCausalLM.from_pretrained("sft")
            return out
        tok, pair = load()
        found = scorers()
        PPOTrainer(args=cfg, processing_class=tok, model=pair[0], ref_model=pair[-1], reward_model=found["reward"],
                   value_model=found["value"], train_dataset=ds)
        """)
    assert kinds.is_tokenizer(setup.origin(Role.PROCESSING_CLASS))
    assert setup.origin(Role.REFERENCE).known and not kinds.same_object(setup.origin(Role.POLICY), setup.origin(Role.REFERENCE))
    assert kinds.model_kind(setup.origin(Role.REWARD)) == ModelKind.SEQUENCE_CLASSIFIER
    assert kinds.model_kind(setup.origin(Role.VALUE)) == ModelKind.CAUSAL_LM
    missing = one("d = {'a': AutoModelForCausalLM.from_pretrained('x')}\nPPOTrainer(model=d['b'])\n").origin(Role.POLICY)
    assert not missing.known and "no key 'b'" in missing.reason


REGISTRY = """
SPECS = {
    "policy": (AutoModelForCausalLM, "sft", {}),
    "reward": (AutoModelForSequenceClassification, "rm", {"num_labels": 1}),
    "value": (AutoModelForSequenceClassification, "rm", {"num_labels": 2}),
}
def build():
    models = {}
    for role, (cls, path, kwargs) in SPECS.items():
        BODY
    return models
built = build()
PPOTrainer(args=cfg, model=built["policy"], reward_model=built["reward"], value_model=built["value"])
"""


def test_a_registry_looped_over_builds_one_object_per_entry():
    setup = one(REGISTRY.replace("BODY", "models[role] = cls.from_pretrained(path, **kwargs)"))
    policy, reward, value = (setup.origin(r) for r in (Role.POLICY, Role.REWARD, Role.VALUE))
    assert kinds.model_kind(policy) == ModelKind.CAUSAL_LM and kinds.model_kind(reward) == ModelKind.SEQUENCE_CLASSIFIER
    assert value.keyword("num_labels").value.value == 2 and reward.path.value == "rm"
    assert len({policy.key, reward.key, value.key}) == 3, "each pass of the loop makes its own model"
    comprehension = one(REGISTRY.replace("models = {}", "models = {r: c.from_pretrained(p, **k) for r, (c, p, k) "
                                                        "in SPECS.items()}").replace("BODY", "pass"))
    assert comprehension.origin(Role.VALUE).keyword("num_labels").value.value == 2


def test_a_registry_loop_whose_effect_is_not_clear_stays_unknown():
    for body, why in [("models[role] = cls.from_pretrained(path, **kwargs)\n        break", "break"),
                      ("if role != 'value':\n            models[role] = cls.from_pretrained(path)", "condition"),
                      ("models[role.upper()] = cls.from_pretrained(path)", "computed key")]:
        origin = one(REGISTRY.replace("BODY", body)).origin(Role.POLICY)
        assert not origin.known, why
    filtered = one(REGISTRY.replace("SPECS.items()", "{k: v for k, v in SPECS.items() if k}.items()")
                   .replace("BODY", "models[role] = cls.from_pretrained(path)")).origin(Role.POLICY)
    assert not filtered.known and "not visible" in filtered.reason


def test_what_a_local_helper_does_to_an_object_is_done_to_it():
    setup = one("""
        import torch
        def prep(tok, side="left"):
            tok.padding_side = side
            tok.pad_token = tok.eos_token
        def place(model):
            model.to("cuda:1")
        def freeze(model):
            for p in model.parameters():
                p.requires_grad = False
        def log(model):
            print(model)
        tokenizer = AutoTokenizer.from_pretrained("sft")
        policy = AutoModelForCausalLM.from_pretrained("sft")
        rm = AutoModelForSequenceClassification.from_pretrained("rm", num_labels=1)
        prep(tokenizer)
        place(rm)
        if frozen:
            freeze(policy)
        log(policy)
        PPOTrainer(args=cfg, processing_class=tokenizer, model=policy, reward_model=rm)
        """)
    tokenizer = setup.origin(Role.PROCESSING_CLASS)
    assert ("set", "pad_token") in ops(tokenizer) and ("passed", "prep") not in ops(tokenizer)
    side = next(op for op in tokenizer.operations if op.name == "padding_side")
    assert side.value.value == "left" and side.span.line < 12, "the default of the helper's parameter, in the helper"
    assert ("call", "to") in ops(setup.origin(Role.REWARD))
    frozen = [op for op in setup.origin(Role.POLICY).operations if op.kind == "freeze"]
    assert frozen and frozen[0].conditional, "the helper is called under a condition"
    assert "log" not in [op.name for op in setup.origin(Role.POLICY).operations], "a helper that does nothing to it"


def test_operations_inside_the_function_that_creates_the_object():
    source = HEAD + textwrap.dedent("""
        def load(path):
            tok = AutoTokenizer.from_pretrained(path)
            tok.add_special_tokens({"pad_token": "[PAD]"})
            return tok, AutoModelForCausalLM.from_pretrained(path)
        def main():
            tokenizer, policy = load("EleutherAI/pythia-160m")
            _, ref = load("EleutherAI/pythia-160m")
            PPOTrainer(args=cfg, processing_class=tokenizer, model=policy, ref_model=ref,
                       reward_model=rm, value_model=critic, train_dataset=ds)
        """)
    setup = extract(libcst.parse_module(source), "t.py").setups[0]
    assert ("call", "add_special_tokens") in ops(setup.origin(Role.PROCESSING_CLASS))
    assert not kinds.same_object(setup.origin(Role.POLICY), setup.origin(Role.REFERENCE))
    # Without the pad token, the PPD301 fix lands in the loader once, and a second run finds nothing to do.
    broken = source.replace('    tok.add_special_tokens({"pad_token": "[PAD]"})\n', "")
    target = Target.of("1.12.0")
    # (unsafe: the hub tokenizer's files are not on disk to show that it lacks a pad token)
    fixed = fix_source(broken, "t.py", target=target, unsafe=True)
    assert fixed.error is None and fixed.text.count("add_special_tokens") == 1
    assert fix_source(fixed.text, "t.py", target=target, unsafe=True).text == fixed.text


def test_dicts_built_step_by_step_are_visible_mappings():
    setup = one("""
        kw = {}
        kw["args"] = PPOConfig(**dict(output_dir="out", per_device_train_batch_size=4))
        kw["model"] = AutoModelForCausalLM.from_pretrained("sft")
        kw.update(reward_model=AutoModelForSequenceClassification.from_pretrained("rm", num_labels=1))
        kw.update({"value_model": None, "scratch": 1})
        kw.setdefault("train_dataset", ds)
        kw.pop("scratch")
        trainer = PPOTrainer(**kw)
        """)
    assert not setup.unresolved_star and setup.role(Role.VALUE).via == "mapping"
    assert setup.origin(Role.VALUE).kind == "none"
    assert setup.arguments[0].expanded == ("args", "model", "reward_model", "value_model", "train_dataset")
    assert setup.origin(Role.CONFIG).keyword("per_device_train_batch_size").value.value == 4


def test_mappings_the_source_does_not_show_stay_unknown():
    conditional = one("kw = dict(model=p)\nif critic:\n    kw['value_model'] = critic\nPPOTrainer(**kw)\n")
    assert conditional.unresolved_star and conditional.arguments[0].expanded is None
    assert "some paths" in conditional.origin(Role.VALUE).reason
    for hidden in ("cfg = yaml.safe_load(open('ppo.yaml'))", "cfg = {k: v for k, v in raw.items() if k}",
                   "cfg = vars(args)", "cfg = dict(base)\ncfg[key] = 1"):
        setup = one(f"import yaml\n{hidden}\nPPOTrainer(args=PPOConfig(**cfg), model=p, **cfg)\n")
        assert setup.origin(Role.CONFIG).partial and setup.unresolved_star, hidden
        assert setup.arguments[-1].expanded is None
    value = one("import yaml\ncfg = yaml.safe_load(f)\nPPOTrainer(args=PPOConfig(bf16=cfg['bf16']))\n")
    bf16 = value.origin(Role.CONFIG).keyword("bf16").value
    assert not bf16.known and bf16.reason, "a YAML field is unknown, with the reason: no default assumed"


def test_arguments_flow_into_main_through_its_one_call():
    setup = one("""
        import argparse
        from dataclasses import dataclass, field
        from transformers import HfArgumentParser
        @dataclass
        class ScriptArguments:
            rm: str = field(default="org/rm")
            labels: int = 2
        def parse():
            parser = argparse.ArgumentParser()
            parser.add_argument("--sft", default="org/sft")
            return parser.parse_args()
        def main(args, script_args, training_args):
            policy = AutoModelForCausalLM.from_pretrained(args.sft)
            rm = AutoModelForSequenceClassification.from_pretrained(script_args.rm, num_labels=script_args.labels)
            PPOTrainer(args=training_args, model=policy, reward_model=rm, value_model=rm)
        if __name__ == "__main__":
            script_args, training_args = HfArgumentParser((ScriptArguments, PPOConfig)).parse_args_into_dataclasses()
            main(parse(), script_args, training_args)
        """)
    assert setup.origin(Role.POLICY).path.value == "org/sft", "argparse default through main(parse())"
    reward = setup.origin(Role.REWARD)
    assert reward.path.value == "org/rm" and reward.keyword("num_labels").value.value == 2, "dataclass defaults"
    config = setup.origin(Role.CONFIG)
    assert config.kind == "parsed_args" and config.partial, "filled from the command line: never defaults"
    twice = one("def main(path):\n    PPOTrainer(model=AutoModelForCausalLM.from_pretrained(path))\n"
                "main('a')\nmain('b')\n").origin(Role.POLICY)
    assert not twice.path.known and "passed differently" in twice.path.reason
    handed = one("import fire\ndef main(path='x'):\n    PPOTrainer(model=AutoModelForCausalLM.from_pretrained(path))\n"
                 "fire.Fire(main)\n").origin(Role.POLICY)
    assert not handed.path.known, "called by fire with arguments the file does not show"


def test_a_loop_or_comprehension_over_zip_of_displays_binds_one_row_per_pass():
    setup = one("""
        ROLES = ("model", "ref_model", "reward_model")
        CLASSES = (AutoModelForCausalLM, AutoModelForCausalLM, AutoModelForSequenceClassification)
        models = {role: cls.from_pretrained(path, **options)
                  for role, cls, path, options in zip(ROLES, CLASSES, ["org/sft", "org/sft", "org/rm"],
                                                      ({}, {}, {"num_labels": 2}))}
        critics = {}
        for role, path in zip(("value_model",), ("org/critic",)):
            critics[role] = AutoModelForCausalLM.from_pretrained(path)
        PPOTrainer(args=cfg, **models, **critics)
        """)
    reward = setup.origin(Role.REWARD)
    assert reward.class_name.endswith("AutoModelForSequenceClassification") and reward.path.value == "org/rm"
    assert reward.keyword("num_labels").value.value == 2
    assert setup.origin(Role.REFERENCE).key != setup.origin(Role.POLICY).key, "one object per pass"
    assert setup.origin(Role.VALUE).path.value == "org/critic", "a for loop over zip"
    for columns in ('("model", "ref_model"), ("org/a",)', '("model", *more), ("org/a", "org/b")', 'roles, paths'):
        unseen = one(f"""
            models = {{role: AutoModelForCausalLM.from_pretrained(path) for role, path in zip({columns})}}
            PPOTrainer(args=cfg, **models)
            """)
        assert unseen.origin(Role.POLICY) is None or not unseen.origin(Role.POLICY).path.known, columns


def test_sizes_derived_by_integer_arithmetic_of_known_ints():
    config = one("""
        GLOBAL_BATCH, GRAD_ACCUM, WORLD = 64, 4, 2
        PER_DEVICE = GLOBAL_BATCH // (GRAD_ACCUM * WORLD)
        PPOTrainer(args=PPOConfig(output_dir="out", per_device_train_batch_size=PER_DEVICE,
                                  gradient_accumulation_steps=GRAD_ACCUM - 1 + 1, num_mini_batches=PER_DEVICE % 5,
                                  total_episodes=GLOBAL_BATCH // 0, num_ppo_epochs=True + 1,
                                  response_length=GLOBAL_BATCH * unknown_factor), model=policy)
        """).origin(Role.CONFIG)
    value = {keyword.name: keyword.value for keyword in config.keywords}
    assert value["per_device_train_batch_size"].value == 8 and value["gradient_accumulation_steps"].value == 4
    assert value["num_mini_batches"].value == 3
    for unseen in ("total_episodes", "num_ppo_epochs", "response_length"):  # by zero, a bool, an unknown side
        assert not value[unseen].known, unseen


def test_a_name_bound_by_the_walrus_operator_is_a_binding():
    setup = one("""
        print("policy:", type(policy := AutoModelForCausalLM.from_pretrained("org/sft")).__name__)
        print("reference:", type(ref := policy).__name__)
        if (rm := AutoModelForSequenceClassification.from_pretrained("org/rm", num_labels=1)) is None:
            raise SystemExit
        PPOTrainer(args=cfg, model=policy, ref_model=ref, reward_model=rm, value_model=rm)
        """)
    policy, reference = setup.origin(Role.POLICY), setup.origin(Role.REFERENCE)
    assert policy.kind == "from_pretrained" and policy.path.value == "org/sft"
    assert reference.key == policy.key, "`ref := policy` is the policy object"
    assert setup.origin(Role.REWARD).keyword("num_labels").value.value == 1, "bound in an `if` test"
    apart = one("""
        print(type(policy := AutoModelForCausalLM.from_pretrained("org/sft")))
        print(type(ref := AutoModelForCausalLM.from_pretrained("org/sft")))
        PPOTrainer(args=cfg, model=policy, ref_model=ref)
        """)
    assert apart.origin(Role.REFERENCE).key != apart.origin(Role.POLICY).key, "two calls, two objects"


def test_a_path_read_off_another_model_is_that_models_path():
    setup = one("""
        from peft import get_peft_model
        from trl import create_reference_model
        def loader(path):
            return AutoModelForSequenceClassification.from_pretrained(path, num_labels=1)
        rm = loader("org/rm")
        base = AutoModelForCausalLM.from_pretrained("org/sft")
        policy = get_peft_model(create_reference_model(base), lora)
        critic = AutoModelForSequenceClassification.from_pretrained(rm.config._name_or_path, num_labels=1)
        ref = AutoModelForCausalLM.from_pretrained(policy.name_or_path)
        PPOTrainer(args=cfg, model=policy, ref_model=ref, reward_model=rm, value_model=critic,
                   processing_class=AutoTokenizer.from_pretrained(unknown_model.config._name_or_path))
        """)
    critic = setup.origin(Role.VALUE).path
    assert (critic.kind, critic.value, critic.text) == ("literal", "org/rm", "rm.config._name_or_path")
    assert setup.origin(Role.REFERENCE).path.value == "org/sft", "through PEFT and a copy to the base model"
    assert not setup.origin(Role.PROCESSING_CLASS).path.known


def test_dataset_chains_keep_their_steps():
    setup = one("""
        from datasets import Dataset, load_dataset
        def tokenize(row):
            return {"input_ids": tok(row["q"])["input_ids"], "attention_mask": [1]}
        raw = load_dataset("imdb")
        train = raw["train"].map(tokenize, remove_columns=["q"]).select(range(2, 10))
        small = Dataset.from_dict({"q": ["a", "b"]})
        PPOTrainer(args=cfg, train_dataset=train, eval_dataset=small)
        """)
    select = setup.origin(Role.TRAIN_DATASET)
    assert (select.kind, select.callee, select.args[0].kind, select.args[0].value) == ("method", "select", "range",
                                                                                     (2, 10, 1))
    mapped = select.base
    assert mapped.callee == "map" and mapped.args[0].kind == "function"
    assert mapped.args[0].value == ("input_ids", "attention_mask")
    assert mapped.keyword("remove_columns").value.value == ("q",)
    item = mapped.base
    assert (item.callee, item.args[0].value) == ("__getitem__", "train") and item.base.callee == "datasets.load_dataset"
    small = setup.origin(Role.EVAL_DATASET)
    assert small.callee == "datasets.Dataset.from_dict" and small.args[0].value == {"q": ("a", "b")}
    twice = one("from datasets import load_dataset\nd = load_dataset('x')\nPPOTrainer(train_dataset=d['train'], "
                "eval_dataset=d['train'])\n")
    assert kinds.same_object(twice.origin(Role.TRAIN_DATASET), twice.origin(Role.EVAL_DATASET))


def test_new_fields_round_trip_through_json():
    file_setup = extract(libcst.parse_module(HEAD + textwrap.dedent("""
        from datasets import load_dataset
        kw = dict(model=AutoModelForCausalLM.from_pretrained("sft"))
        data = load_dataset("x", split="train").select(range(8)).map(lambda r: {"input_ids": r})
        PPOTrainer(args=PPOConfig(bf16=cfg["bf16"]), train_dataset=data, **kw)
        """)), "t.py")
    assert m.loads(m.dumps(file_setup)) == file_setup
    setup = file_setup.setups[0]
    assert setup.arguments[-1].expanded == ("model",)
    assert setup.origin(Role.TRAIN_DATASET).base.args[0].kind == "range"
