"""rnnzoo tasks: one module per task, each trained through the one runner.

A task module defines `NAME`, a `Config` dataclass whose fields are made
with `field` (each becomes a flag of its recipe, see `rnnzoo.cli`),
`Config.quick()`, `run(config, runner)`, `SUMMARY` and optionally
`COMMANDS`.
"""

import copy
import dataclasses


def field(default, help_text, **metadata):
    """A task setting: a dataclass field with the help text of its flag.

    A mutable default (dict, list, set) is copied for every config.

    Args:
        default: the setting's default.
        help_text: what `--help` says about it.
        **metadata: more field metadata for `rnnzoo.cli` (`choices=`).

    Returns:
        A `dataclasses.field`.

    Example:

    >>> @dataclasses.dataclass
    ... class Config:
    ...     epochs: int = field(20, "training epochs")
    ...     rnn: dict = field({"units": 8}, "builder arguments")
    >>> Config().rnn is not Config().rnn, dataclasses.fields(Config)[0].metadata["help"]
    (True, 'training epochs')
    """
    metadata = {"help": help_text, **metadata}
    if isinstance(default, (dict, list, set)):
        return dataclasses.field(default_factory=lambda: copy.deepcopy(default),
                                 metadata=metadata)
    return dataclasses.field(default=default, metadata=metadata)
