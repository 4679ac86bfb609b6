"""Toy paper files for the paper, run-layer and cost tests."""

# a paper with one table whose first row runs here on the synthetic data
TOY_RUNNABLE = """
paper: toy
title: A toy paper
citation: nobody
defaults: {method: linear, protocol: "kfold:3"}
tables:
  - id: t1
    caption: toy table
    rows:
      - label: synth-small quadrant
        run: {dataset: synth-small, task: quadrant, features: mfcc}
        metric: macro_f1
        published: 0.5
"""

# that row, one no reader can run, and one whose data is absent
TOY_PAPER = TOY_RUNNABLE + """\
      - label: a dataset we cannot read
        run: null
        metric: macro_f1
        published: 0.9
        unavailable: not among mer-bench's datasets
      - label: a dataset that is not on disk
        run: {dataset: 4q, task: quadrant, features: mfcc, dataset_root: /nonexistent/4q}
        metric: accuracy
        published: 0.7
"""
