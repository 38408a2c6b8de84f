"""The command lines: ``adr-train`` (Hydra), ``adr-ckpt``, ``adr-plot``."""
