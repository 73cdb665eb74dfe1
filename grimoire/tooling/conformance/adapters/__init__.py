"""The adapters: one package per peer, each presenting the peer's method through Grimoire's public API."""
