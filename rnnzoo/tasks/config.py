"""What every task's `Config` shares: settings with their `--help`, the data folder, `--set`.

A task's `Config` is a dataclass subclassing `TaskConfig` (or
`ResolvedConfig`, whose settings left at None take the series' or dataset's
own); `rnnzoo.cli` turns each field into a flag.
"""

from __future__ import annotations

import dataclasses


def setting(help_text, default=None, **metadata):
    """A `Config` field with its `--help` text (and `choices=...`, `flag=False`).

    Example:

    >>> @dataclasses.dataclass
    ... class Config:
    ...     units: int = setting("recurrent units", 64)
    >>> dataclasses.fields(Config)[0].metadata["help"]
    'recurrent units'
    """
    return dataclasses.field(default=default, metadata={"help": help_text, **metadata})


@dataclasses.dataclass
class TaskConfig:
    """The settings every task has: `data_dir` and the `--set` builder overrides."""

    data_dir: str | None = setting(
        "dataset folder (default: $RNNZOO_DATA_DIR, the Keras cache, a download)")
    overrides: dict = dataclasses.field(default_factory=dict, metadata={
        "help": "`--set KEY=VALUE`: arguments of the task's builder (and --tune's space)"})


@dataclasses.dataclass
class ResolvedConfig(TaskConfig):
    """A `TaskConfig` whose settings left at None are filled in by the task's `resolve`.

    `Config.quick()` marks the config (`quick_settings`, not a flag) so that
    `resolve` fills them with the quick run's values instead.

    Example:

    >>> @dataclasses.dataclass
    ... class Config(ResolvedConfig):
    ...     epochs: int | None = setting("epochs")
    >>> Config.quick().filled({"epochs": 2}).epochs, Config(epochs=5).filled({"epochs": 2}).epochs
    (2, 5)
    """

    quick_settings: bool = setting(
        "settings left at None take the quick run's (set by Config.quick())", False, flag=False)

    @classmethod
    def quick(cls):
        """The small run of the tests and the demo (the quick settings)."""
        return cls(quick_settings=True)

    def filled(self, settings):
        """A copy whose settings still at None take the values of dict `settings`."""
        return dataclasses.replace(self, **{
            k: v for k, v in settings.items() if getattr(self, k) is None})
