"""Models and settings held in containers the evaluator reads as the values they are: a `torch.nn.ModuleDict`
(a dict of models by name), a list comprehension over a table picked by position, positions named by
unpacking `range(n)`. Each shape has a script that must fire and a twin that must not; the styles'
real runs are in fixtures/styles (module_dict, indexed_roles)."""

from __future__ import annotations

from e2e_matrix import FIXTURE_MODELS
from eras_helpers import check, codes, fix_all

HEAD = """\
import torch
from transformers import AutoModelForCausalLM, AutoModelForSequenceClassification, AutoTokenizer
from trl.experimental.ppo import PPOConfig, PPOTrainer
"""
RULES = ("PPD103", "PPD106", "PPD109")


def found(text: str) -> list[str]:
    return codes(text, "1.12.0", RULES)


MODULE_DICT = HEAD + """
nets = torch.nn.ModuleDict({"actor": AutoModelForCausalLM.from_pretrained("sft"),
                            "ref": REF,
                            "reward": AutoModelForSequenceClassification.from_pretrained("rm", num_labels=1)})
nets["critic"] = CRITIC
nets.to("cpu")
tok = AutoTokenizer.from_pretrained("sft", padding_side="left")
tok.add_special_tokens({"pad_token": "[PAD]"})
PPOTrainer(args=PPOConfig(output_dir="o"), processing_class=tok, model=nets["actor"], ref_model=nets["ref"],
           reward_model=nets["reward"], value_model=nets["critic"], train_dataset=None)
"""
GOOD_REF = 'AutoModelForCausalLM.from_pretrained("sft")'
GOOD_CRITIC = 'AutoModelForSequenceClassification.from_pretrained("rm", num_labels=1)'


def module_dict(ref: str = GOOD_REF, critic: str = GOOD_CRITIC) -> str:
    return MODULE_DICT.replace("REF", ref).replace("CRITIC", critic)


def test_a_module_dict_is_read_by_key_as_a_dict():
    assert found(module_dict(critic='AutoModelForCausalLM.from_pretrained("sft")')) == ["PPD103"]
    assert found(module_dict()) == []


def test_a_module_dict_keeps_object_identity():
    # The display's "actor" entry read twice is one object; an item written later replaces the entry.
    assert found(module_dict(ref='AutoModelForCausalLM.from_pretrained("sft")').replace(
        'ref_model=nets["ref"]', 'ref_model=nets["actor"]')) == ["PPD106"]
    assert found(module_dict().replace('nets["critic"] = ', 'nets["critic"] = nets["actor"]\nnets["critic"] = ')) == []


def test_an_ordered_dict_is_a_dict_too():
    text = module_dict(critic='AutoModelForCausalLM.from_pretrained("sft")').replace(
        "torch.nn.ModuleDict(", "collections.OrderedDict(").replace("import torch", "import collections")
    assert found(text) == ["PPD103"]


INDEXED = HEAD + """
ACTOR, REFERENCE, SCORER, CRITIC = range(4)
SPECS = [
    (AutoModelForCausalLM, "sft", {}),
    (AutoModelForCausalLM, "sft", {}),
    (AutoModelForSequenceClassification, "rm", {"num_labels": 1}),
    (AutoModelForSequenceClassification, "rm", {"num_labels": 1}),
]
loaded = [cls.from_pretrained(path, **options) for cls, path, options in SPECS]
tok = AutoTokenizer.from_pretrained(SPECS[ACTOR][1], padding_side="left")
PPOTrainer(args=PPOConfig(output_dir="o"), processing_class=tok, model=loaded[ACTOR], ref_model=loaded[REF_AT],
           reward_model=loaded[SCORER], value_model=loaded[VALUE_AT], train_dataset=None)
"""


def indexed(ref_at: str = "REFERENCE", value_at: str = "CRITIC") -> str:
    return INDEXED.replace("REF_AT", ref_at).replace("VALUE_AT", value_at)


def test_elements_of_a_list_comprehension_picked_by_position(tmp_path):
    assert found(indexed(value_at="ACTOR")) == ["PPD109"]
    assert found(indexed(value_at="0")) == ["PPD109"]
    assert found(indexed(ref_at="ACTOR")) == ["PPD106"]
    # Each pass of the comprehension makes its own object: positions 0 and 1 load one path twice.
    assert found(indexed(ref_at="1")) == []
    assert found(indexed(value_at="-1")) == []
    assert found(indexed(value_at="1")) == ["PPD103"]  # the second causal-LM row
    assert found(indexed()) == []


def test_a_filtered_comprehension_stays_unknown():
    # An `if` may drop passes: position 3 is not the fourth row any more, so nothing is said.
    text = indexed(value_at="ACTOR").replace("for cls, path, options in SPECS]",
                                             "for cls, path, options in SPECS if path]")
    assert "PPD109" not in found(text)


def _pad_findings(text: str) -> list[str]:
    return [d.message for d in check(text, "1.12.0", ("PPD301",))]


def test_a_name_unpacked_from_range_is_its_int():
    # The tokenizer's path is read through `SPECS[ACTOR][1]`, ACTOR the first int of `range(4)`: the path
    # the source shows, so PPD301 judges the saved tokenizer there instead of warning on an unknown path.
    with_pad, without_pad = (indexed().replace('"sft"', repr(str(FIXTURE_MODELS / name))) for name in ("tok-pad", "tok-nopad"))
    assert _pad_findings(with_pad) == []
    assert _pad_findings(with_pad.replace("= range(4)", "= range(0, 4)")) == []
    messages = _pad_findings(without_pad)
    assert len(messages) == 1 and "its saved files" in messages[0] and "tok-nopad" in messages[0], messages
    # A sliced range is not followed: ACTOR is no int the source shows and the path stays unknown.
    unknown = _pad_findings(with_pad.replace("= range(4)", "= range(4)[::-1]"))
    assert len(unknown) == 1 and "if the saved tokenizer has none" in unknown[0], unknown


def test_the_value_fix_adds_a_critic_when_the_value_is_another_roles_row():
    # `value_model=loaded[ACTOR]` is the policy object: changing the ACTOR row's class would turn the policy
    # into a classifier; the fix loads a critic of its own instead.
    fixed = fix_all(indexed(value_at="ACTOR"), "1.12.0", "PPD109")
    assert "(AutoModelForCausalLM, \"sft\", {})," in fixed.split("loaded =")[0]
    assert "value_model=loaded[ACTOR]" not in fixed
    assert found(fixed) == []


STAR_ROWS = HEAD + """
def load(kind, path, labels=None):
    extra = {} if labels is None else {"num_labels": labels}
    return kind.from_pretrained(path, **extra)


ROWS = [(AutoModelForCausalLM, "sft"), (AutoModelForCausalLM, "sft"), REWARD_ROW, VALUE_ROW]
policy, reference, reward, value = [load(*row) for row in ROWS]
PPOTrainer(args=PPOConfig(output_dir="o"), processing_class=tok, model=policy, ref_model=reference,
           reward_model=reward, value_model=value, train_dataset=None)
"""
GOOD_ROW = '(AutoModelForSequenceClassification, "rm", 1)'


def star_rows(reward_row: str = GOOD_ROW, value_row: str = GOOD_ROW) -> str:
    return STAR_ROWS.replace("REWARD_ROW", reward_row).replace("VALUE_ROW", value_row)


def test_a_star_called_row_fills_exactly_its_first_parameters():
    assert codes(star_rows(value_row='(AutoModelForCausalLM, "sft")'), "1.12.0", RULES) == ["PPD103"]
    assert codes(star_rows(), "1.12.0", RULES + ("PPD104", "PPD105")) == []
    assert codes(star_rows(reward_row='(AutoModelForSequenceClassification, "rm", 2)'), "1.12.0", ("PPD105",)) \
        == ["PPD105"]
    # A shorter row leaves `labels` at its default (None): no num_labels keyword, nothing to report.
    assert codes(star_rows(reward_row='(AutoModelForSequenceClassification, "rm")'), "1.12.0", ("PPD105",)) == []


def test_a_star_called_row_of_unknown_length_stays_unknown():
    text = star_rows(value_row='(AutoModelForCausalLM, "sft")').replace(
        "for row in ROWS]", "for row in read_rows()]")
    assert codes(text, "1.12.0", RULES) == []
