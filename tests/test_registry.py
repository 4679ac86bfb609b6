import pytest

from mer_bench.errors import UnknownNameError
from mer_bench.registry import Registry


def test_register_get_alias_and_unknown():
    reg: Registry[type] = Registry("thing")

    @reg.register("alpha", aliases=("a",))
    class Alpha:
        pass

    assert reg.get("alpha") is Alpha and reg.get("a") is Alpha and reg.get("ALPHA") is Alpha
    assert reg.names() == ["alpha"] and "a" in reg and len(reg) == 1
    with pytest.raises(UnknownNameError, match="unknown thing 'beta'; available: alpha"):
        reg.get("beta")
    with pytest.raises(ValueError, match="registered twice"):
        reg.register("a")(object)


def test_declared_name_must_match_the_registered_one():
    reg: Registry[type] = Registry("thing", named=True)

    @reg.register("beta")
    class Beta:
        name = "beta"

    assert reg.get("beta") is Beta
    with pytest.raises(ValueError, match=r"registered as 'gamma' but its `name` is 'beta'"):
        reg.register("gamma")(type("Gamma", (Beta,), {}))  # inherited the parent's name
    with pytest.raises(ValueError, match="declares no `name`; add `name = 'delta'`"):
        reg.register("delta")(type("Delta", (), {}))
    assert reg.names() == ["beta"]  # a refused plug-in is not half-registered


def test_unnamed_families_still_check_a_declared_name():
    reg: Registry[object] = Registry("scorer")
    reg.register("f")(len)  # functions carry no `name`: nothing to compare
    with pytest.raises(ValueError, match="but its `name` is 'x'"):
        reg.register("y")(type("X", (), {"name": "x"}))


def test_every_plug_in_registry_checks_names():
    from mer_bench.data import DATASETS
    from mer_bench.features import FEATURES
    from mer_bench.methods import METHODS

    for registry in (DATASETS, FEATURES, METHODS):
        assert registry.named
        for name, cls in registry.items():
            assert cls.name == name
