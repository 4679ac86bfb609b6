"""``mer-bench weights``: where pretrained weight files go, and whether they are there."""

from __future__ import annotations

from typing import Annotated

import typer

from mer_bench.commands.common import console

weights_app = typer.Typer(help="Pretrained weight files: status, checksums and fetching.",
                          no_args_is_help=True)


@weights_app.command("status")
def weights_status(
    name: Annotated[str | None, typer.Argument(help="Feature extractor (default: all).")] = None,
) -> None:
    """Every pretrained weight file: expected SHA-256, target path, and whether it is there."""
    from mer_bench.features import weights as weight_files

    print(f"weights folder: {weight_files.hub_dir()} ($TORCH_HOME/hub/checkpoints)")
    if weight_files.explicit_paths():
        print(f"--weights / ${weight_files.WEIGHTS_ENV}: "
              + ", ".join(map(str, weight_files.explicit_paths())))
    shown = None
    for row in weight_files.status(name, hash_files=True):
        if row.slot != shown:
            shown = row.slot
            found = weight_files.locate(row.slot)
            state = f"ready: {found.path}" if found else "MISSING"
            when = row.slot.needed_when
            needed = "always needed" if when == "always" else f"needed when {when}"
            either = "; any one of these files" if len(row.slot.candidates) > 1 else ""
            print(f"\n{row.slot.extractor} {row.slot.label} ({needed}{either}): {state}")
        size = f"{row.file.size:,} bytes" if row.file.size else "size not published"
        mark = {None: "missing", True: "present", False: "CHECKSUM MISMATCH"}[row.ok]
        print(f"  [{mark}] {row.file.name}  expected sha256 {row.file.expected}  {size}")
        print(f"      -> {row.target}")
        if row.present:
            print(f"      sha256 of this file: {row.sha256}")
        print(f"      from {row.file.url}")


@weights_app.command("fetch")
def weights_fetch(
    name: Annotated[str | None, typer.Argument(
        help="Feature extractor or file name (default: every extractor).")] = None,
) -> None:
    """Download missing weights from their official locations (needs internet access)."""
    from mer_bench.features import weights as weight_files

    weight_files.fetch(name, report=lambda m: console.print(m, soft_wrap=True, markup=False,
                                                            highlight=False))
