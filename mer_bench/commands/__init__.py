"""The ``mer-bench`` sub-commands, one module per command group (``mer_bench.cli`` wires them)."""
