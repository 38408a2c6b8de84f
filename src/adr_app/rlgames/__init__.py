"""rl_games wiring: the agent and player that checkpoint ADR completely, their
options, the env rl_games builds, the multi-rank env state, the progress line."""
