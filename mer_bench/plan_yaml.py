"""Plan YAML read within bounds: a hostile or mistaken file is refused before it is built.

PyYAML composes a document into a node graph in time linear in the text (an
alias is one shared node); building values from it, and printing or copying
them later, expand every alias. So the file's size and encoding are checked
first, then scalars and the expanded size on the node graph, and only then are
values built. Plan files and ``--set`` values both go through ``load_yaml``.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import yaml

from mer_bench.errors import ConfigError

MAX_PLAN_BYTES = 1 << 20
"""A plan file is a few hundred bytes; one over 1 MiB is not a plan and is not read."""
MAX_VALUE_CHARS = 10_000
"""Characters of one plan value (name, path, description): longer is a mistake or an attack."""
MAX_NUMBER_CHARS = 100
"""Characters of one number: Python refuses integers over 4300 digits with a raw ValueError,
and no parameter or seed needs more than a few dozen."""
MAX_PLAN_VALUES = 100_000
"""Values a plan may expand to, each alias counted at every use: nine nested anchors of nine
aliases (a "billion laughs") expand to 9**9 strings and gigabytes once printed or copied."""


def read_plan_file(path: Path) -> dict[str, Any]:
    """The plan file's mapping; its size, encoding and YAML checked before values are built."""
    size = path.stat().st_size
    if size > MAX_PLAN_BYTES:
        raise ConfigError(f"{path}: {size / 2**20:.1f} MiB is too large for a plan file (at most "
                          f"{MAX_PLAN_BYTES / 2**20:.0f} MiB); is it the right file?")
    data = path.read_bytes()
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as exc:
        line = data[: exc.start].count(b"\n") + 1
        raise ConfigError(f"{path}, line {line}: byte 0x{data[exc.start]:02x} is not UTF-8 "
                          "text; save the plan as UTF-8") from None
    try:
        raw = load_yaml(text, str(path)) or {}
    except yaml.YAMLError as exc:
        raise ConfigError(f"{path} is not valid YAML: {exc}") from None
    if not isinstance(raw, dict):
        raise ConfigError(f"{path}: a plan is a mapping of keys to values")
    return raw


class _BoundedLoader(yaml.SafeLoader):
    """``yaml.SafeLoader`` that checks the composed document before building any value.

    Composing is linear in the text (an alias is one shared node); building and later
    printing or copying are not, so sizes are counted on the node graph first.
    """

    source = "YAML"
    lines = True

    def construct_document(self, node: yaml.Node) -> Any:
        _expanded_size(node, self.source, self.lines, {}, set())
        return super().construct_document(node)


def load_yaml(text: str, source: str, lines: bool = True) -> Any:
    """Parse YAML (never evaluated) within the plan bounds; faults name ``source`` (and
    the line, with ``lines``)."""
    loader = _BoundedLoader(text)
    loader.source, loader.lines = source, lines
    try:
        return loader.get_single_data()
    except RecursionError:
        raise ConfigError(f"{source}: values are nested too deeply") from None
    finally:
        loader.dispose()


_NUMBER_TAGS = ("tag:yaml.org,2002:int", "tag:yaml.org,2002:float")


def _expanded_size(
    node: yaml.Node, source: str, lines: bool, sizes: dict[int, int], open_: set[int]
) -> int:
    """Values ``node`` expands to, aliases counted at each use; refuses cycles and overlong
    scalars. ``sizes`` memoises shared nodes, so the walk is linear in the text."""
    key = id(node)
    if key in sizes:
        return sizes[key]
    where = f"{source}, line {node.start_mark.line + 1}" if lines else source
    if key in open_:
        raise ConfigError(f"{where}: an alias refers to the value that contains it; "
                          "write the value out")
    if isinstance(node, yaml.ScalarNode):
        limit = MAX_NUMBER_CHARS if node.tag in _NUMBER_TAGS else MAX_VALUE_CHARS
        if len(node.value) > limit:
            what = "a number" if node.tag in _NUMBER_TAGS else "a value"
            raise ConfigError(f"{where}: {what} of {len(node.value)} characters "
                              f"(at most {limit})")
        size = 1
    else:
        open_.add(key)
        children = (node.value if isinstance(node, yaml.SequenceNode)
                    else [part for pair in node.value for part in pair])
        size = 1
        for child in children:
            size += _expanded_size(child, source, lines, sizes, open_)
            if size > MAX_PLAN_VALUES:
                raise ConfigError(f"{where}: expands to over {MAX_PLAN_VALUES} values (each "
                                  "alias counted where it is used); write the values out")
        open_.discard(key)
    sizes[key] = size
    return size
