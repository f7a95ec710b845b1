"""Launch: the ``brigade`` command line, launch graphs and sweeps."""
