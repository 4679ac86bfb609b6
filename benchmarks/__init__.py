"""mer-bench's performance suite (``make perf``): see ``benchmarks/__main__.py`` and the
README's Performance section. Not part of the installed package."""
