"""What a run is asked to do: the validated settings of ``adr-train``, the plan built
from them before anything is built, and the size and device checks."""
