"""The offline tools a site runs on its own cohort: score a CSV, judge the model on labelled rows.

Apart from the function: it never ships in it (`infra.build` ships `handler` and `model` only), and
it may grow libraries the function must not load. `python -m model ...` and `python -m cohort ...`
run the same command line (cohort.cli).
"""
