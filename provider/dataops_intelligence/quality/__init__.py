"""Quality tooling: NAB scoring and offline detector runs on CSV series."""
