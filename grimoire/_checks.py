"""Argument checks shared by the public functions, with Keras-style messages.

Each message names the argument, says what was expected and shows what was received.
"""

import numbers

import numpy as np


def positive_int(name, value, *, allow_zero=False):
    """Returns `value` as an int, or raises if it is not a positive integer (bool is refused)."""
    if isinstance(value, bool) or not isinstance(value, (numbers.Integral, np.integer)):
        raise TypeError(f"Argument `{name}` must be an integer. Received: {name}={value!r} (of type {type(value).__name__})")
    lowest = 0 if allow_zero else 1
    if value < lowest:
        kind = "a non-negative" if allow_zero else "a positive"
        raise ValueError(f"Argument `{name}` must be {kind} integer. Received: {name}={value!r}")
    return int(value)


def int_tuple(name, value, rank, *, allow_zero=False):
    """Expands an int or a sequence of `rank` ints (like Keras' `kernel_size=3`) to a tuple."""
    if isinstance(value, (numbers.Integral, np.integer)) and not isinstance(value, bool):
        value = (value,) * rank
    if not isinstance(value, (tuple, list)) or len(value) != rank:
        raise ValueError(
            f"Argument `{name}` must be an integer or a tuple of {rank} integers. Received: {name}={value!r}"
        )
    return tuple(positive_int(name, v, allow_zero=allow_zero) for v in value)


def one_of(name, value, choices):
    """Returns `value` lower-cased if it is one of `choices`, else raises."""
    if not isinstance(value, str) or value.lower() not in choices:
        raise ValueError(f"Argument `{name}` must be one of {sorted(choices)}. Received: {name}={value!r}")
    return value.lower()


def array(name, value, *, ndim=None, dtype=np.float64):
    """Converts `value` to a numpy array of `dtype`, checking its rank."""
    try:
        result = np.asarray(value, dtype=dtype)
    except (TypeError, ValueError):
        raise TypeError(
            f"Argument `{name}` must be array-like of numbers. Received: {name} of type {type(value).__name__}"
        ) from None
    if ndim is not None and result.ndim != ndim:
        raise ValueError(
            f"Argument `{name}` must have rank {ndim}. Received: {name} with shape {result.shape} (rank {result.ndim})"
        )
    return result


def at_least(name, value, minimum, why):
    """Returns `value` as an int, or raises if it is not an integer of at least `minimum` (`why` says why)."""
    value = positive_int(name, value, allow_zero=True) if minimum >= 0 else value
    if value < minimum:
        raise ValueError(f"Argument `{name}` must be at least {minimum}: {why}. Received: {name}={value}")
    return value


def keras_model(name, value):
    """Returns `value` if it is a `keras.Model`, else raises a TypeError naming its type."""
    import keras  # imported here so the other checks stay usable without TensorFlow

    if not isinstance(value, keras.Model):
        raise TypeError(f"Argument `{name}` must be a keras.Model. Received: {name} of type {type(value).__name__}")
    return value


def conv_window(name, value, rank=None):
    """A convolution's `kernel_size` (or `strides`, `dilation_rate`) as a tuple of positive ints.

    An int means the same size on every spatial axis, as in Keras (`kernel_size=3` is `(3, 3)` for a
    Conv2D). `rank` is the number of spatial axes; when it is None a tuple brings its own and an int
    means 2 (Conv2D, the common case).
    """
    if rank is None:
        rank = len(value) if isinstance(value, (tuple, list)) else 2
    if isinstance(value, (tuple, list)) and not value:
        raise ValueError(f"Argument `{name}` must be an integer or a non-empty tuple of integers. Received: {name}={value!r}")
    return int_tuple(name, value, rank)


def strides_and_dilation(strides, dilation_rate):
    """Refuses a stride and a dilation both above 1, as Keras' convolutions do."""
    if max(strides) > 1 and max(dilation_rate) > 1:
        raise ValueError(
            "Arguments `strides` and `dilation_rate` cannot both be above 1: Keras' convolutions refuse "
            "the combination. Received: "
            f"strides={tuple(strides)}, dilation_rate={tuple(dilation_rate)}. Use one or the other."
        )


def conv_groups(in_channels, filters, groups):
    """Refuses `groups` that does not divide both `in_channels` and `filters`, as Keras' Conv does."""
    for name, value in (("filters", filters), ("in_channels", in_channels)):
        if value % groups:
            raise ValueError(
                f"Argument `{name}` must be divisible by `groups`: each of the {groups} groups takes an equal "
                f"share of the channels. Received: {name}={value}, groups={groups}"
            )


def flag(name, value):
    """`value` as 0 or 1 when it is a bool; a TypeError naming the argument otherwise."""
    if not isinstance(value, bool):
        raise TypeError(f"Argument `{name}` must be a bool. Received: {name}={value!r}")
    return int(value)


# --- lessons behind their checks ------------------------------------------------------------------


def guard(check):
    """Decorates a lesson so that `check` sees its arguments first: the lesson itself stays bare.

    `check(**arguments)` receives every argument by name (defaults filled in, `self` too for a
    method). It raises on bad input, and may return a dict of arguments to pass on instead (a
    `kernel_size=3` expanded to `(3, 3)`, say); `None` passes them on unchanged.

    The learner writes the lesson's body; the decorator, like the check, is support, shipped solved.
    `lesson.__rewrap__(body)` puts another body behind the same check (how a mistake is planted).

    Example:

    >>> @guard(lambda size: {"size": positive_int("size", size)})
    ... def area(size):
    ...     return size * size
    >>> area(3)
    9
    >>> area(-1)
    Traceback (most recent call last):
    ...
    ValueError: Argument `size` must be a positive integer. Received: size=-1
    """
    import functools
    import inspect

    def decorate(lesson):
        signature = inspect.signature(lesson)

        @functools.wraps(lesson)
        def guarded(*args, **kwargs):
            bound = signature.bind(*args, **kwargs)
            bound.apply_defaults()
            checked = check(**bound.arguments)
            if checked:
                bound.arguments.update(checked)
            return lesson(*bound.args, **bound.kwargs)

        guarded.__rewrap__ = decorate
        return guarded

    return decorate
