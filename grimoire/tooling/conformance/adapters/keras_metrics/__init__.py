"""Keras' own metrics through Grimoire's API: `impl.metrics.RootMeanSquaredError` is Keras'.

Run the spec's metric claims against it with
`pytest --impl grimoire.tooling.conformance.adapters.keras_metrics --claims metric-streaming -n 0`.
"""

from grimoire.tooling.conformance.shared import delegate

delegate(__name__, own=("metrics",))
