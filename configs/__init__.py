"""YAML presets shipped with brigade (``brigade.config.load_config`` reads them)."""
