"""The exchange simulator: each venue's real protocol and units, served locally and driven by a synthetic market."""
