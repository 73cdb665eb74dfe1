"""What runs, checks and reports the spec: the project, the pytest plugin, the ledger, the CLI,
the exercises and the report. The curriculum (``grimoire.params``, ``grimoire.cam``, ...) never
imports from here.
"""
