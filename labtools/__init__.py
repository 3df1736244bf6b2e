"""The tools beside the lab's program: the simulated cloud, the offline plan, the
sweeper and the leak audit, the lesson tour, kubectl's and plain pulumi's way in, the
account preflight, the reaper, a class of labs and mutation testing. They import the program
(stacks, components) and the smoke tests' probes; the program never imports them. Run them
with `./lab plan|sweep|audit|tour|kubeconfig|env|preflight|reap|class|mutate` (or
`python -m labtools COMMAND`)."""


class UsageError(Exception):
    """A bad combination of arguments that argparse alone cannot express."""
