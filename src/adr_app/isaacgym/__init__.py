"""Isaac Gym tasks under ``adr-train``: finding the task class, building its config
and env, and the launch order Isaac Gym needs (imported before torch)."""
