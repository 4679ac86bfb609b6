"""Pretrained weight files: where they come from, where they go, how they are checked.

Extractors register the files they need here (``register``), from their own
module, so this module holds no central list. A file is looked for, in order:

1. ``--weights PATH`` (exported as ``$MER_BENCH_WEIGHTS``, several paths
   separated by ``os.pathsep``): a folder holding files under their official
   names, or one model file under any name;
2. the torch hub cache, ``$TORCH_HOME/hub/checkpoints/`` (``TORCH_HOME``
   defaults to ``$XDG_CACHE_HOME/torch``, i.e. ``~/.cache/torch``), where
   ``torch.hub`` itself keeps downloads.

Nothing is ever downloaded implicitly: only ``mer-bench weights fetch`` goes
online, and it fails with a message saying where to put the file by hand.
A file found under its official name must match the published checksum (the
torch hub convention: the hex digits in the file name are the start of its
SHA-256); a file passed explicitly is used as given. Either way the SHA-256
of the bytes actually loaded becomes the extractor's weights identity in the
feature-cache key, never the machine-specific path.
"""

from __future__ import annotations

import dataclasses
import gzip
import os
import shutil
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from mer_bench.atomic import atomic_file
from mer_bench.errors import ConfigError, FeatureError, WeightsNotFoundError
from mer_bench.hashing import sha256_file

WEIGHTS_ENV = "MER_BENCH_WEIGHTS"
HDF5_MAGIC = b"\x89HDF\r\n\x1a\n"


@dataclass(frozen=True)
class WeightFile:
    """One downloadable file under its official name."""

    name: str
    url: str
    sha256: str = ""  # full digest, or a prefix (torch hub names); "" when unpublished
    size: int | None = None  # bytes, when known
    gzipped: bool = False  # the URL serves ``name`` gzip-compressed
    source: str = ""  # who publishes it (shown by `weights status`)

    def check(self, digest: str) -> bool:
        """True when ``digest`` agrees with the published checksum (or none is published)."""
        return not self.sha256 or digest.startswith(self.sha256.lower())

    @property
    def expected(self) -> str:
        if not self.sha256:
            return "not published"
        return self.sha256 if len(self.sha256) == 64 else f"{self.sha256}... (prefix)"


@dataclass(frozen=True)
class WeightSlot:
    """Something an extractor needs; any of ``candidates`` provides it.

    ``primary`` slots (the network weights) accept a lone ``--weights FILE``
    of any name; the others need their official names.
    """

    extractor: str
    label: str
    candidates: tuple[WeightFile, ...]
    needed_when: str = "always"
    primary: bool = True

    @property
    def default(self) -> WeightFile:
        """The file `weights fetch` downloads for this slot."""
        return self.candidates[0]


@dataclass(frozen=True)
class Located:
    path: Path
    file: WeightFile | None  # None: an explicit file under a name of its own
    explicit: bool


_SLOTS: dict[str, list[WeightSlot]] = {}


def register(*slots: WeightSlot) -> None:
    """Declare weight files an extractor needs (called at import of its module)."""
    for slot in slots:
        known = _SLOTS.setdefault(slot.extractor, [])
        if all(s.label != slot.label for s in known):
            known.append(slot)


def slots(extractor: str | None = None) -> list[WeightSlot]:
    """Registered slots of one extractor, or of all in registration order."""
    _import_extractors()
    if extractor is None:
        return [s for group in _SLOTS.values() for s in group]
    return list(_SLOTS.get(extractor, []))


def extractors_with_weights() -> list[str]:
    _import_extractors()
    return list(_SLOTS)


def _import_extractors() -> None:
    import mer_bench.features  # noqa: F401  (registration happens on import)


# --- where --------------------------------------------------------------------------
def torch_home() -> Path:
    """``$TORCH_HOME``, else ``$XDG_CACHE_HOME/torch``, else ``~/.cache/torch`` (as torch.hub)."""
    home = os.environ.get("TORCH_HOME")
    if home:
        return Path(home).expanduser()
    xdg = os.environ.get("XDG_CACHE_HOME", "~/.cache")
    return Path(xdg).expanduser() / "torch"


def hub_dir() -> Path:
    """Where torch hub checkpoints live: ``$TORCH_HOME/hub/checkpoints``."""
    return torch_home() / "hub" / "checkpoints"


def explicit_paths() -> list[Path]:
    """Paths given with ``--weights`` (``$MER_BENCH_WEIGHTS``)."""
    raw = os.environ.get(WEIGHTS_ENV, "")
    return [Path(p).expanduser() for p in raw.split(os.pathsep) if p.strip()]


def use_paths(paths: Iterable[Path | str]) -> list[Path]:
    """Make ``paths`` the explicit weights of this process and its children (``--weights``)."""
    resolved = []
    for p in paths:
        path = Path(p).expanduser().resolve()
        if not path.exists():
            raise ConfigError(f"--weights {p}: no such file or folder")
        resolved.append(path)
    if resolved:
        os.environ[WEIGHTS_ENV] = os.pathsep.join(str(p) for p in resolved)
    return resolved


def locate(slot: WeightSlot) -> Located | None:
    """The file that provides ``slot``, or None (explicit paths first, then the hub cache)."""
    explicit = explicit_paths()
    for path in explicit:
        for c in slot.candidates:
            if path.is_dir() and (path / c.name).is_file():
                return Located(path / c.name, c, True)
            if path.is_file() and path.name == c.name:
                return Located(path, c, True)
    loose = [p for p in explicit if p.is_file() and p.name not in _all_names()]
    if slot.primary and len(loose) == 1 and len(explicit) == 1:
        return Located(loose[0], None, True)
    for folder in dict.fromkeys(p.parent for p in explicit if p.is_file()):
        for c in slot.candidates:  # e.g. VGGish's PCA file beside an explicit model file
            if (folder / c.name).is_file():
                return Located(folder / c.name, c, True)
    for c in slot.candidates:
        if (hub_dir() / c.name).is_file():
            return Located(hub_dir() / c.name, c, False)
    return None


def _all_names() -> set[str]:
    return {c.name for s in slots() for c in s.candidates}


def require(slot: WeightSlot) -> Located:
    """Like ``locate`` but raises ``WeightsNotFoundError`` saying which file goes where."""
    found = locate(slot)
    if found is not None:
        return found
    raise WeightsNotFoundError(missing_message(slot))


def missing_message(slot: WeightSlot) -> str:
    folder = hub_dir()
    first = slot.default
    names = " or ".join(c.name for c in slot.candidates)
    alternatives = (f" (any of: {names})" if len(slot.candidates) > 1 else "")
    return (
        f"feature extractor {slot.extractor!r} needs pretrained weights {slot.label!r}: "
        f"put {first.name}{alternatives} in the folder {folder}/ "
        f"(that is $TORCH_HOME/hub/checkpoints/, full path {folder / first.name}), "
        f"or pass --weights PATH. Nothing is downloaded for you: on a machine with internet "
        f"access run `mer-bench weights fetch {slot.extractor}` (source: {first.url}) and copy "
        f"the file over. For pipeline smoke tests only, --random-init uses untrained, seeded "
        f"weights and tags every run and cache entry weights=random."
    )


# --- checksums ------------------------------------------------------------------------
_SHA_MEMO: dict[tuple[str, int, int], str] = {}


def sha256_of(path: Path) -> str:
    """SHA-256 of a file, memoised per (path, size, mtime) in this process."""
    st = path.stat()
    key = (str(path.resolve()), st.st_size, st.st_mtime_ns)
    if key not in _SHA_MEMO:
        _SHA_MEMO[key] = sha256_file(path)
    return _SHA_MEMO[key]


def verified(found: Located) -> str:
    """SHA-256 of a located file; raises when an officially named file is not the official one."""
    digest = sha256_of(found.path)
    if found.file is not None and not found.explicit and not found.file.check(digest):
        raise FeatureError(
            f"{found.path} has SHA-256 {digest}, but the official {found.file.name} starts "
            f"with {found.file.sha256}: the file is corrupt or a different model. Delete it and "
            f"run `mer-bench weights fetch {found.file.name}`, or pass it with --weights PATH "
            f"to use it anyway."
        )
    return digest


# --- loading --------------------------------------------------------------------------
def is_hdf5(path: Path) -> bool:
    with open(path, "rb") as fh:
        return fh.read(8) == HDF5_MAGIC


def torch_load(path: Path) -> Any:
    """``torch.load`` with ``weights_only=True`` that also accepts plain numpy arrays.

    The released VGGish PCA file pickles numpy arrays; allowing numpy's array
    reconstruction (under its numpy 1 and numpy 2 module names) keeps loading
    safe without ``weights_only=False``.
    """
    import numpy as np
    import torch

    reconstruct = np._core.multiarray._reconstruct
    allowed: list[Any] = [
        reconstruct, (reconstruct, "numpy.core.multiarray._reconstruct"),
        np.ndarray, np.dtype,
    ]
    allowed += [getattr(np.dtypes, n) for n in dir(np.dtypes) if n.endswith("DType")]
    try:
        with torch.serialization.safe_globals(allowed):
            return torch.load(path, map_location="cpu", weights_only=True)
    except Exception as exc:  # pickle, zip and unpickler errors come in many types
        raise FeatureError(f"cannot read weights file {path}: {exc}") from None


# --- status and fetch -----------------------------------------------------------------
@dataclass(frozen=True)
class FileStatus:
    slot: WeightSlot
    file: WeightFile
    target: Path
    present: bool
    sha256: str = ""  # of the present file, when ``hash_files`` was asked
    ok: bool | None = None  # checksum agrees (None: not checked)


def status(extractor: str | None = None, hash_files: bool = False) -> list[FileStatus]:
    """Every registered file with its target path in the hub cache and whether it is there."""
    if extractor is not None and extractor not in extractors_with_weights():
        raise ConfigError(f"feature extractor {extractor!r} has no registered weights; "
                          f"those that do: {extractors_with_weights()}")
    rows = []
    for s in slots(extractor):
        for f in s.candidates:
            target = hub_dir() / f.name
            present = target.is_file()
            digest, ok = "", None
            if present and hash_files:
                digest = sha256_of(target)
                ok = f.check(digest)
            rows.append(FileStatus(s, f, target, present, digest, ok))
    return rows


Opener = Callable[..., Any]


def fetch(
    what: str | None = None,
    *,
    opener: Opener | None = None,
    report: Callable[[str], None] = print,
    timeout: float = 30.0,
) -> list[Path]:
    """Download missing weights from their official locations into the hub cache.

    ``what`` is an extractor name, a file name, or None for every slot's
    default file. Raises ``FeatureError`` (saying what to do by hand) when a
    download fails, e.g. offline.
    """
    by_file = what is not None and what not in extractors_with_weights()
    done = []
    for s, f in _wanted(what):
        target = hub_dir() / f.name
        have = [target] if by_file else [hub_dir() / c.name for c in s.candidates]
        present = [p for p in have if p.is_file()]
        if present:
            report(f"already present: {present[0]}")
            continue
        report(f"downloading {f.url}")
        done.append(_download(f, target, opener, timeout))
        report(f"saved {target}")
    return done


def _wanted(what: str | None) -> list[tuple[WeightSlot, WeightFile]]:
    if what is None or what in extractors_with_weights():
        return [(s, s.default) for s in slots(what)]
    for s in slots():
        for f in s.candidates:
            if f.name == what:
                return [(s, f)]
    known = sorted(extractors_with_weights()) + sorted(_all_names())
    raise ConfigError(f"no weights named {what!r}; choose an extractor or a file: {known}")


def _download(f: WeightFile, target: Path, opener: Opener | None, timeout: float) -> Path:
    import urllib.error
    import urllib.request

    open_url = opener or urllib.request.urlopen
    with atomic_file(target) as out:
        try:
            with open_url(f.url, timeout=timeout) as response:
                source = gzip.GzipFile(fileobj=response) if f.gzipped else response
                shutil.copyfileobj(source, out, 1 << 20)
        except (urllib.error.URLError, OSError, TimeoutError) as exc:
            raise FeatureError(
                f"could not download {f.name} from {f.url} ({_reason(exc)}). This machine "
                f"seems to be offline: download the file on a machine with internet access "
                f"and copy it to {target} (or pass it with --weights PATH)."
            ) from None
        out.flush()
        digest = sha256_file(Path(out.name))
        if not f.check(digest):  # raising here removes the partial download
            raise FeatureError(
                f"downloaded {f.name} has SHA-256 {digest}, expected {f.expected}: "
                f"the download is corrupt; try again."
            )
    return target


def _reason(exc: BaseException) -> str:
    reason = getattr(exc, "reason", None)
    return str(reason or exc) or type(exc).__name__


# --- plans ----------------------------------------------------------------------------
def accepts_random_init(feature: str) -> bool:
    """Whether a registered extractor has pretrained weights it can replace by seeded ones."""
    from mer_bench.features import FEATURES

    cls = FEATURES.get(feature)
    return any(f.name == "random_init" for f in dataclasses.fields(cls.Params))


def with_random_init(plan: Any) -> tuple[Any, list[str]]:
    """``plan`` with ``random_init=true`` for every feature that has weights, and their names."""
    entries, changed = [], []
    for entry in plan.features:
        if accepts_random_init(entry.name):
            entry = dataclasses.replace(entry, params={**dict(entry.params), "random_init": True})
            changed.append(entry.name)
        entries.append(entry)
    return dataclasses.replace(plan, features=tuple(entries)), changed


def apply_cli_options(plan: Any, weights: Sequence[Path] | None, random_init: bool,
                      say: Callable[[str], None] = print) -> Any:
    """What ``--weights`` and ``--random-init`` do to a plan before it runs."""
    if weights:
        use_paths(weights)
    if not random_init:
        return plan
    plan, changed = with_random_init(plan)
    if changed:
        say(f"--random-init: untrained seeded weights for {', '.join(sorted(set(changed)))}; "
            "runs are tagged weights=random and are not real results")
    else:
        say("--random-init: no feature extractor of this plan has pretrained weights")
    return plan
