from pathlib import Path

import pytest

from mer_bench.config import BenchPlan, apply_overrides, load_plan
from mer_bench.errors import ConfigError

REPO = Path(__file__).resolve().parents[1]


def test_quick_plan_loads_and_expands_all_combinations():
    plan = load_plan(REPO / "experiments" / "bench" / "quick.yaml")
    assert plan.name == "quick"
    assert len(plan.specs()) == (
        len(plan.datasets)
        * len(plan.tasks)
        * len(plan.features)
        * len(plan.methods)
        * len(plan.seeds)
    )


def test_overrides_address_entries_by_name_and_parse_yaml_values():
    raw = {
        "datasets": ["synth"],
        "tasks": ["quadrant"],
        "features": ["mfcc"],
        "methods": ["chance", {"name": "linear", "params": {"C": 1.0}}],
        "seeds": [0],
    }
    out = apply_overrides(
        raw,
        [
            "methods.linear.C=0.5",
            "seeds=3",
            "features=logmel",
            "datasets.synth.root=/tmp/x",
            "protocol=repeated:3:0.8",
        ],
    )
    plan = BenchPlan.from_dict(out)
    linear = [m for m in plan.methods if m.name == "linear"][0]
    assert linear.params == {"C": 0.5}
    assert plan.seeds == (0, 1, 2)
    assert [f.name for f in plan.features] == ["logmel"]
    assert plan.datasets[0].root == "/tmp/x"
    assert plan.protocol == "repeated:3:0.8"
    assert raw["methods"][1]["params"]["C"] == 1.0  # input untouched


def test_override_values_are_never_evaluated():
    out = apply_overrides({"name": "x"}, ["name=__import__('os').system('false')"])
    assert out["name"] == "__import__('os').system('false')"


@pytest.mark.parametrize("bad", ["novalue", "=3", "methods.nosuch.C=1"])
def test_bad_overrides_raise_config_error(bad):
    with pytest.raises(ConfigError):
        apply_overrides({"methods": ["linear"]}, [bad])


def test_unknown_plan_keys_and_empty_lists_are_reported():
    with pytest.raises(ConfigError, match="unknown key"):
        BenchPlan.from_dict(
            {
                "datasets": ["synth"],
                "tasks": ["quadrant"],
                "features": ["mfcc"],
                "methods": ["linear"],
                "sedes": 3,
            }
        )
    with pytest.raises(ConfigError, match="'methods' is missing"):
        BenchPlan.from_dict({"datasets": ["synth"], "tasks": ["quadrant"], "features": ["mfcc"]})


def test_missing_plan_file_is_a_config_error(tmp_path):
    with pytest.raises(ConfigError, match="not found"):
        load_plan(tmp_path / "nope.yaml")
    bad = tmp_path / "bad.yaml"
    bad.write_text("datasets: [synth\n")
    with pytest.raises(ConfigError, match="not valid YAML"):
        load_plan(bad)


def test_trainer_settings_pass_through_and_are_checked():
    raw = {
        "datasets": ["synth"],
        "tasks": ["quadrant"],
        "features": ["mfcc"],
        "methods": ["linear"],
    }
    plan = BenchPlan.from_dict(apply_overrides(raw, ["trainer.devices=2", "trainer.strategy=ddp"]))
    assert plan.trainer == {"devices": 2, "strategy": "ddp"}
    with pytest.raises(ConfigError, match="unknown trainer setting"):
        BenchPlan.from_dict({**raw, "trainer": {"gpus": 2}})


def test_text2music_pairs_every_text_dataset_with_every_music_entry():
    plan = BenchPlan.from_dict(
        {
            "datasets": ["synth-text"],
            "tasks": ["text2music_retrieval", "quadrant"],
            "features": ["mfcc"],
            "methods": ["chance"],
            "music": ["synth", {"name": "4q", "root": "/data/4q"}],
            "music_protocol": "official",
        }
    )
    pairs = [(s.task, s.music_dataset, s.music_root, s.music_protocol) for s in plan.specs()]
    assert pairs == [
        ("text2music_retrieval", "synth", None, "official"),
        ("text2music_retrieval", "4q", "/data/4q", "official"),
        ("quadrant", None, None, None),
    ]


def test_a_method_entry_may_name_the_plan_tasks_it_runs_on():
    raw = {"name": "p", "datasets": ["synth-small"], "tasks": ["quadrant", "static_va"],
           "features": ["mfcc"],
           "methods": ["chance", {"name": "linear", "tasks": ["static_va"]}]}
    specs = BenchPlan.from_dict(raw).specs()
    assert sorted((s.method, s.task) for s in specs) == [
        ("chance", "quadrant"), ("chance", "static_va"), ("linear", "static_va")]
    raw["methods"][1]["tasks"] = ["dynamic_va"]
    with pytest.raises(ConfigError, match="do not include"):
        BenchPlan.from_dict(raw)


def test_a_plans_reduced_precision_is_part_of_the_config_hash():
    from mer_bench.runs import resolve

    raw = {"name": "p", "datasets": ["synth-small"], "tasks": ["quadrant"],
           "features": ["mfcc"], "methods": ["linear"]}

    def config_hash(trainer: dict) -> str:
        (spec,) = BenchPlan.from_dict({**raw, "trainer": trainer}).specs()
        return resolve(spec).config_hash

    default = config_hash({})
    assert config_hash({"precision": "32-true"}) == default == config_hash({"devices": 1})
    assert config_hash({"precision": "bf16-mixed"}) != default
