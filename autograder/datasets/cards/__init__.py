"""Data-set cards: one Markdown file per data set (what, shapes, source, licence), read with `autograder.datasets.card`."""
