"""`grimoire check` runs the spec, prints the ledger and fails when a claim fails."""

import subprocess
import sys

import pytest

pytestmark = pytest.mark.tooling

ONE_CLAIM = "spec/a_dense/test_dense_kernel_shape.py"


def grimoire_check(*args):
    return subprocess.run(
        [sys.executable, "-m", "grimoire.tooling.cli", "check", "-n", "0", "-p", "no:cacheprovider", *args],
        capture_output=True,
        text=True,
    )


def test_check_prints_the_ledger_and_exits_zero_when_claims_hold():
    """A passing selection exits 0 and ends with the ledger's summary line."""
    result = grimoire_check(ONE_CLAIM)

    assert result.returncode == 0, result.stdout[-2000:]
    assert "verified  dense-kernel-shape" in result.stdout
    assert "claims: 1 verified, 0 failing" in result.stdout


def test_check_exits_non_zero_when_a_claim_fails(tmp_path):
    """An implementation with a wrong formula makes its claim failing and the command fail."""
    package = tmp_path / "wrong"
    package.mkdir()
    (package / "__init__.py").write_text("")
    (package / "params.py").write_text(
        "def dense_params(input_size, output_size, *, use_bias=True):\n"
        "    return input_size * output_size  # forgets the bias\n"
    )

    result = grimoire_check("--impl", str(package), ONE_CLAIM)

    assert result.returncode == 1
    assert "failing   dense-kernel-shape" in result.stdout
    assert "hint: Think of the layer as y = x @ W + b" in result.stdout
