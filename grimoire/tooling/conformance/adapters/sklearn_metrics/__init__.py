"""scikit-learn's metric formulas through Grimoire's API: `impl.metrics` computes with `sklearn.metrics`.

Run the spec's streaming claim against it with
`pytest --impl grimoire.tooling.conformance.adapters.sklearn_metrics --claims metric-streaming -n 0`.
"""

from grimoire.tooling.conformance.shared import delegate

delegate(__name__, own=("metrics",))
