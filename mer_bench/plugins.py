"""Import every module of a plug-in package so its registrations run.

Plug-ins register with a decorator in their own module; a package's
``__init__`` calls ``import_submodules(__name__)`` so that adding a plug-in
never means editing a central list. A plug-in sub-package's ``__init__``
imports only its registering module, which imports torch, Lightning and the
like inside the functions that use them: listing the registries stays fast.
"""

from __future__ import annotations

import importlib
import pkgutil


def import_submodules(package_name: str) -> None:
    package = importlib.import_module(package_name)
    for info in pkgutil.iter_modules(package.__path__):
        if not info.name.startswith("_"):
            importlib.import_module(f"{package_name}.{info.name}")
