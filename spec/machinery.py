"""What the spec's run sets up before any test module is imported: hypothesis' profiles and the CPU split.

Called from `spec/conftest.py`'s `pytest_configure`; nothing here is a fixture a claim test reads.
"""

from pathlib import Path

from hypothesis import Phase, settings

from grimoire.tooling.project import split_cpu

# Property tests draw the same examples on every run and every xdist worker (derandomize), and
# never time out on a loaded machine: TensorFlow's first call in a process can take seconds.
settings.register_profile("spec", derandomize=True, deadline=None, max_examples=30, print_blob=True)
settings.load_profile("spec")
# Against a learner's package (--impl DIR) an unwritten function raises NotImplementedError on every
# example; shrinking that repeats costly model builds for nothing, so stop at the first failure.
settings.register_profile("learner", parent=settings.get_profile("spec"), phases=[Phase.explicit, Phase.reuse, Phase.generate])

DISTRIBUTED_TEST = Path(__file__).parent / "c_metrics" / "test_metric_distributed.py"


def configure(config):
    """The learner's hypothesis profile under `--impl`, and the CPU split where `metric-distributed` may run."""
    if config.getoption("impl") != "grimoire":
        settings.load_profile("learner")
    _split_cpu(config)


def _split_cpu(config, logical_cpus=2):
    """Splits the CPU into two logical devices before TensorFlow initialises its devices.

    `metric-distributed` runs MirroredStrategy over /CPU:0 and /CPU:1. TensorFlow fixes its devices
    at its first op, so this must run before any test module is imported. Ops without an explicit
    device still run on /CPU:0, so no other test changes. On another Keras backend the claim is
    skipped and TensorFlow is not imported here.
    """
    if getattr(config.option, "numprocesses", None) and not hasattr(config, "workerinput"):
        return  # the xdist controller runs no tests; each worker configures itself
    if not _may_run(config, DISTRIBUTED_TEST, "metric-distributed"):
        return  # importing TensorFlow costs seconds: only for a run that may need the split
    split_cpu(logical_cpus)


def _may_run(config, path, claim):
    """Whether this run may collect `path`: its claim is selected and a path argument covers it."""
    claims = config.getoption("claims", None)
    if claims and claim not in claims.split(","):
        return False
    arguments = [Path(config.invocation_params.dir, a.split("::")[0]).resolve()
                 for a in config.args if not a.startswith("-")]
    return not arguments or any(a == path or a in path.parents for a in arguments)
