"""Argument checks that raise keras-style errors naming the argument."""

import numbers


def check_choice(arg, value, choices):
    """Returns `value` if it is one of `choices`, else raises a `ValueError`."""
    if not isinstance(value, str) or value not in choices:
        raise ValueError(
            f"Expected `{arg}` to be one of {list(choices)}. "
            f"Received: {arg}={value!r}"
        )
    return value


def check_optional_choice(arg, value, choices):
    """Like `check_choice`, but `None` is also accepted."""
    if value is None:
        return None
    if not isinstance(value, str) or value not in choices:
        raise ValueError(
            f"Expected `{arg}` to be None or one of {list(choices)}. "
            f"Received: {arg}={value!r}"
        )
    return value


def check_positive_int(arg, value):
    """Returns `value` if it is an int >= 1, else raises a `ValueError`."""
    if (
        isinstance(value, bool)
        or not isinstance(value, numbers.Integral)
        or value < 1
    ):
        raise ValueError(
            f"Expected `{arg}` to be a positive integer. Received: {arg}={value!r}"
        )
    return int(value)


def check_optional_positive_int(arg, value):
    """Like `check_positive_int`, but `None` is also accepted."""
    if value is None:
        return None
    return check_positive_int(arg, value)


def check_fraction(arg, value, allow_zero=True):
    """Returns `value` as a float if it is in [0, 1) (`allow_zero=False`: (0, 1)), else raises.

    Example:

    >>> check_fraction("dropout", 0)
    0.0
    >>> check_fraction("test_fraction", 0.0, allow_zero=False)
    Traceback (most recent call last):
    ...
    ValueError: Expected `test_fraction` to be a float in (0, 1). Received: test_fraction=0.0
    """
    bound = "[0, 1)" if allow_zero else "(0, 1)"
    if (
        isinstance(value, bool)
        or not isinstance(value, numbers.Real)
        or not (0.0 <= value if allow_zero else 0.0 < value)
        or not value < 1.0
    ):
        raise ValueError(
            f"Expected `{arg}` to be a float in {bound}. Received: {arg}={value!r}"
        )
    return float(value)


def check_split_fractions(validation_fraction, test_fraction):
    """Checks the validation and test fractions of a split; returns them as floats.

    Each is a fraction in [0, 1) (`check_fraction`), and together they leave
    some data for training.

    Example:

    >>> check_split_fractions(0.1, 0.2)
    (0.1, 0.2)
    >>> check_split_fractions(0.5, 0.5)
    Traceback (most recent call last):
    ...
    ValueError: Expected `validation_fraction + test_fraction` < 1. Received: validation_fraction=0.5, test_fraction=0.5
    """
    validation_fraction = check_fraction("validation_fraction", validation_fraction)
    test_fraction = check_fraction("test_fraction", test_fraction)
    if validation_fraction + test_fraction >= 1:
        raise ValueError(
            "Expected `validation_fraction + test_fraction` < 1. Received: "
            f"validation_fraction={validation_fraction}, test_fraction={test_fraction}"
        )
    return validation_fraction, test_fraction


def check_exactly_one(**kwargs):
    """Checks that exactly one of the keyword arguments is not None."""
    given = [k for k, v in kwargs.items() if v is not None]
    if len(given) != 1:
        received = ", ".join(f"{k}={v!r}" for k, v in kwargs.items())
        names = " or ".join(f"`{k}`" for k in kwargs)
        raise ValueError(f"Pass exactly one of {names}. Received: {received}")
    return given[0]
