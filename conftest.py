# The Grimoire pytest plugin: claim markers, the `impl` fixture, the claim ledger.
pytest_plugins = ["grimoire.pytest_plugin", "pytester"]
