"""The application: Hydra entrypoint, rl_games wiring, embedded task, CLI tools."""
