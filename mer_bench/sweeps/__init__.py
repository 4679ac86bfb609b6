"""What a sweep shares across processes: fitted models on disk, the trial budget and who
runs each trial. ``mer_bench.tuning`` runs the sweep itself."""
