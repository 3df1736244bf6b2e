"""The tools beside the lab's program: the simulated cloud, the offline plan, the
sweeper, the leak audit and mutation testing. They import the program (stacks,
components); the program never imports them. Run them with `./lab plan|sweep|audit|mutate` (or
`python -m labtools COMMAND`)."""


class UsageError(Exception):
    """A bad combination of arguments that argparse alone cannot express."""
