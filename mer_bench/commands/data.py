"""``mer-bench data``: inspect and validate dataset folders."""

from __future__ import annotations

from typing import Annotated

import typer

from mer_bench.commands.common import AllowMissing, Roots, console, err, say

data_app = typer.Typer(help="Inspect and validate datasets.", no_args_is_help=True)


@data_app.command("check")
def data_check(
    dataset: Annotated[str, typer.Argument(help="Dataset name.")],
    roots: Roots = None,
    allow_missing_audio: AllowMissing = False,
    deep: Annotated[
        bool, typer.Option("--deep", help="Decode every audio file completely, and verify it "
        "against the publisher's checksums where the dataset has them (MTG-Jamendo).")
    ] = False,
) -> None:
    """Validate a dataset folder: counts, splits, label ranges and every problem found."""
    from mer_bench.data import DATASETS
    from mer_bench.data.base import MISSING_AUDIO, TRACK_LEVEL_CODES
    from mer_bench.roots import single_root

    adapter = DATASETS.get(dataset)(single_root(roots, dataset))
    report = adapter.validate(deep=deep)
    waived = {MISSING_AUDIO: "--allow-missing-audio"} if allow_missing_audio else {}
    # soft_wrap: each finding stays on one line, whole (paths can be copied, lines grepped)
    console.print(report.render(waived=waived), highlight=False, markup=False, soft_wrap=True)
    errors = report.errors(waived)
    if errors:
        err.print(f"[red]{len(errors)} error(s)[/red] in {adapter.name}", highlight=False)
        if any(p.code == MISSING_AUDIO for p in errors):
            err.print("(--allow-missing-audio accepts missing audio files)")
        skippable = [p for p in errors if p.code in TRACK_LEVEL_CODES]
        if skippable and len(skippable) == len(errors):
            ids = report.track_ids_with(p.code for p in skippable)
            err.print(
                f"(every error concerns single tracks or rows: `run --skip-invalid` leaves out "
                f"these {len(ids)} track(s) and runs on the rest)",
                highlight=False,
                markup=False,
            )
        elif skippable:
            err.print(
                "(--skip-invalid would leave out the tracks with track-level errors, but "
                f"{len(errors) - len(skippable)} error(s) concern whole files and must be fixed)",
                highlight=False,
                markup=False,
            )
        raise typer.Exit(1)
    waived_n = len(report.errors()) - len(errors)
    if waived_n:
        console.print(f"{adapter.name}: no other errors; {waived_n} track(s) without audio are "
                      "left out (--allow-missing-audio)", highlight=False, markup=False,
                      soft_wrap=True)
        return
    say(f"[green]{adapter.name}: no errors[/green]", markup=True)


@data_app.command("info")
def data_info(dataset: Annotated[str, typer.Argument(help="Dataset name.")]) -> None:
    """Citation, license, homepage, download instructions and expected layout."""
    from mer_bench.data import DATASETS

    cls = DATASETS.get(dataset)
    console.print(f"[bold]{cls.name}[/bold] (version {cls.version})", highlight=False)
    for label, text in (
        ("homepage", cls.homepage),
        ("license", cls.license),
        ("citation", cls.citation),
        ("how to obtain", cls.download_info),
    ):
        console.print(f"[bold]{label}:[/bold] {text}", highlight=False, markup=True)
    console.print(f"[bold]tasks:[/bold] {', '.join(sorted(k.value for k in cls.task_kinds))}")
    console.print(
        f"[bold]root:[/bold] --root PATH, or ${cls.root_env_var()}, or $MER_BENCH_DATA/" + cls.name
    )
