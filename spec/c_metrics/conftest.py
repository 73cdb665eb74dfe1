"""Section C setup: two logical CPU devices for `metric-distributed`.

TensorFlow fixes its devices when it first runs an op, so the split must happen before any test
touches TensorFlow: `pytest_configure` runs when this conftest is loaded, at start-up or, in a
whole-suite run, while the spec is still being collected (no test has run yet). Ops without an
explicit device keep running on /CPU:0, so nothing else changes.
"""

LOGICAL_CPUS = 2


def pytest_configure(config):
    if getattr(config.option, "numprocesses", None) and not hasattr(config, "workerinput"):
        return  # the xdist controller runs no tests; each worker configures itself
    import tensorflow as tf

    cpu = tf.config.list_physical_devices("CPU")[0]
    if len(tf.config.get_logical_device_configuration(cpu) or []) >= LOGICAL_CPUS:
        return  # already split (this conftest loaded twice in one process)
    try:
        tf.config.set_logical_device_configuration(cpu, [tf.config.LogicalDeviceConfiguration()] * LOGICAL_CPUS)
    except RuntimeError:
        pass  # TensorFlow started earlier in this process; the distributed test then skips, saying why
