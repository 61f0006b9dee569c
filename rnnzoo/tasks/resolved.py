"""Configs whose defaults depend on a choice (the series, the dataset): filled in by `resolve`.

The timeseries and captioning tasks leave such settings at None in their
`Config` (a `ResolvedConfig`); their `resolve(config)` fills them with the
series' or dataset's own values, or with the quick run's after
`Config.quick()`. A setting given (a flag) always wins.
"""

from __future__ import annotations

import dataclasses

from rnnzoo.tasks import field


@dataclasses.dataclass
class ResolvedConfig:
    """Base of a `Config` whose None settings take the values `resolve` chooses.

    Example:

    >>> @dataclasses.dataclass
    ... class Config(ResolvedConfig):
    ...     epochs: int | None = field(None, "epochs")
    >>> Config.quick().filled({"epochs": 2}).epochs, Config(epochs=5).filled({"epochs": 2}).epochs
    (2, 5)
    >>> Config.quick().quick_settings, Config().quick_settings
    (True, False)
    """

    quick_settings: bool = field(
        False, "settings left at None take the quick run's (set by Config.quick())", flag=False)

    @classmethod
    def quick(cls, **changes):
        """The small run of the tests and the demo (the quick settings); `changes` win."""
        return cls(**{"quick_settings": True, **changes})

    def filled(self, settings):
        """A copy whose settings still at None take the values of dict `settings`."""
        return dataclasses.replace(self, **{
            k: v for k, v in settings.items() if getattr(self, k) is None})
