"""``mer-bench features``: fill the feature cache ahead of runs."""

from __future__ import annotations

from typing import Annotated

import typer

from mer_bench.commands.common import RandomInit, Roots, WeightsPaths, err, say
from mer_bench.errors import MerBenchError

features_app = typer.Typer(help="Extract features into the cache.", no_args_is_help=True)


@features_app.command("extract")
def features_extract(
    name: Annotated[str, typer.Argument(help="Feature extractor.")],
    dataset: Annotated[str, typer.Option("--dataset", "-d", help="Dataset name.")],
    roots: Roots = None,
    jobs: Annotated[int | None, typer.Option(
        "--jobs", help="Feature worker processes (default: one per core).")] = None,
    weights: WeightsPaths = None,
    random_init: RandomInit = False,
) -> None:
    """Fill the feature cache for every track of a dataset that has audio."""
    from pathlib import Path as _Path

    from mer_bench.data import DATASETS
    from mer_bench.features import FEATURES
    from mer_bench.features import weights as weight_files
    from mer_bench.features.cache import FeatureCache
    from mer_bench.progress import ProgressBar

    weight_files.use_paths(weights or [])
    if random_init and not weight_files.accepts_random_init(name):
        raise MerBenchError(f"--random-init: feature {name!r} has no pretrained weights")
    extractor = FEATURES.get(name)(**({"random_init": True} if random_init else {}))
    from mer_bench.roots import single_root

    adapter = DATASETS.get(dataset)(single_root(roots, dataset))
    tracks = [t for t in adapter.tracks() if t.audio_path and _Path(t.audio_path).is_file()]
    if random_init:
        say(f"{name}: untrained seeded weights (cache entries tagged weights=random)")
    try:
        with ProgressBar(True, f"{name} on {adapter.name}") as update:
            arrays, stats = FeatureCache().features(
                extractor, tracks, n_jobs=jobs, progress=update
            )
    except KeyboardInterrupt:
        err.print("interrupted: the features already computed are kept in the cache; run the "
                  "same command again to compute the rest", highlight=False)
        raise typer.Exit(130) from None
    shapes = {a.shape for a in arrays.values()}
    say(
        f"{len(arrays)} tracks: {stats.hits} from cache, {stats.computed} computed "
        f"in {stats.seconds:.1f} s; shapes {sorted(shapes)[:3]}"
    )
