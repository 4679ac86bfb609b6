"""A toy paper file: one row that runs here, one no reader can run, one whose data is absent."""

TOY_PAPER = """
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
