"""Persistence of training state: checkpoint stores, run layout, atomic IO."""
