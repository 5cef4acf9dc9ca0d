"""`make bench`: prepare, train and the endpoint measured beside their baselines.

dataset.py   an iris-like CSV of >= 1M rows, generated deterministically from the seed data
children.py  a child process's wall time and peak RSS (os.wait4)
subjects.py  how prepare.py / train.py are invoked (as the containers invoke them)
baselines.py the baselines, run as their own processes (`python -m bench.baselines ...`)
endpoint.py  invoke_endpoint latency against the emulator, beside its round-trip floor
results.py   percentiles, results.json's schema, the targets and the printed table
cli.py       the thin entry point (`python -m bench`)
"""
