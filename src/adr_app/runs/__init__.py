"""Run operations: the run directory and its lock, choosing the checkpoint to start
from, preemption (signals, exit 75, the resume command), a process's place in a run."""
