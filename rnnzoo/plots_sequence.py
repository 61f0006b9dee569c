"""PNG plots of the sequence recipes: forecasts, attention maps, strips.

matplotlib is imported lazily with the non-interactive Agg backend, so the
library imports without it and plots render without a display.
"""

import os

import numpy as np


def _pyplot():
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    return plt


def plot_forecasts(path, index, actual, forecasts, origins, picks=3,
                   context=None, title=""):
    """Forecast-vs-actual panels for a few test origins, baselines included.

    Args:
        path: PNG file to write.
        index: the series' DatetimeIndex (x axis).
        actual: `(origins, horizon)` actual values.
        forecasts: dict name -> `(origins, horizon)` forecasts.
        origins: row index of each origin's first forecast step.
        picks: number of origins shown (evenly spaced).
        context: `(series, steps)`: draw `steps` observed values before each
            origin from the full `series`.
        title: figure title.

    Returns:
        `path`.

    Example:

    >>> import pandas as pd, tempfile, os
    >>> idx = pd.date_range("2000", periods=10, freq="D")
    >>> p = plot_forecasts(os.path.join(tempfile.mkdtemp(), "f.png"), idx,
    ...     np.ones((2, 3)), {"naive": np.zeros((2, 3))}, [4, 5])
    >>> os.path.exists(p)
    True
    """
    plt = _pyplot()
    actual = np.asarray(actual)
    origins = np.asarray(origins)
    chosen = np.unique(np.linspace(0, len(origins) - 1, picks).round().astype(int))
    horizon = actual.shape[1]
    fig, axes = plt.subplots(len(chosen), 1, figsize=(9, 2.6 * len(chosen)),
                             squeeze=False)
    for ax, k in zip(axes[:, 0], chosen):
        t = int(origins[k])
        steps = index[t:t + horizon]
        if context is not None:
            series, back = context
            lo = max(0, t - back)
            ax.plot(index[lo:t], np.asarray(series)[lo:t], color="0.6",
                    label="observed")
        ax.plot(steps, actual[k], color="black", linewidth=2, label="actual")
        for name, forecast in forecasts.items():
            ax.plot(steps, np.asarray(forecast)[k], label=name,
                    linewidth=2 if name == "rnn" else 1,
                    linestyle="-" if name == "rnn" else "--")
        ax.set_title(f"origin {index[t]}", fontsize=9)
    axes[0, 0].legend(fontsize=8, ncol=3)
    if title:
        fig.suptitle(title)
    fig.tight_layout()
    _save(fig, path)
    return path


def plot_horizon_errors(path, per_horizon, title="MAE by horizon step"):
    """MAE per horizon step for each forecast (dict name -> list).

    Example:

    >>> import tempfile, os
    >>> p = plot_horizon_errors(os.path.join(tempfile.mkdtemp(), "h.png"),
    ...                         {"naive": [1, 2]})
    >>> os.path.exists(p)
    True
    """
    plt = _pyplot()
    fig, ax = plt.subplots(figsize=(7, 4))
    for name, values in per_horizon.items():
        ax.plot(np.arange(1, len(values) + 1), values, label=name,
                linewidth=2 if name == "rnn" else 1)
    ax.set_xlabel("steps ahead")
    ax.set_ylabel("MAE")
    ax.set_title(title)
    ax.legend()
    fig.tight_layout()
    _save(fig, path)
    return path


def plot_attention(path, weights, source_labels, target_labels, title=""):
    """An attention heatmap: target steps (rows) x source steps (columns).

    Args:
        path: PNG file to write.
        weights: `(target_len, source_len)` attention weights.
        source_labels: one label per source step.
        target_labels: one label per target step.
        title: the axes title.

    Returns:
        `path`.

    Example:

    >>> import tempfile, os
    >>> p = plot_attention(os.path.join(tempfile.mkdtemp(), "a.png"),
    ...                    np.eye(2), ["a", "b"], ["x", "y"])
    >>> os.path.exists(p)
    True
    """
    plt = _pyplot()
    weights = np.asarray(weights)[: len(target_labels), : len(source_labels)]
    fig, ax = plt.subplots(
        figsize=(1 + 0.5 * len(source_labels), 1 + 0.4 * len(target_labels))
    )
    ax.imshow(weights, cmap="viridis", aspect="auto", vmin=0.0)
    ax.set_xticks(range(len(source_labels)))
    ax.set_xticklabels(source_labels, rotation=60, ha="right", fontsize=8)
    ax.set_yticks(range(len(target_labels)))
    ax.set_yticklabels(target_labels, fontsize=8)
    ax.set_title(title, fontsize=9)
    fig.tight_layout()
    _save(fig, path)
    return path


def plot_strip_attention(path, images, attention, captions, grid_width,
                         max_rows=4):
    """Images with, for each emitted token, where the model looked.

    Args:
        path: PNG file to write.
        images: `(n, height, width)` or `(n, height, width, channels)`.
        attention: list of `(steps, regions)` arrays, one per image; the
            regions are a `(regions // grid_width, grid_width)` grid.
        captions: list of lists of emitted tokens (one per step).
        grid_width: columns of the attention grid.
        max_rows: images shown.

    Returns:
        `path`.
    """
    plt = _pyplot()
    n = min(len(images), max_rows)
    cols = 1 + max(len(c) for c in captions[:n])
    fig, axes = plt.subplots(n, cols, figsize=(2.2 * cols, 1.6 * n), squeeze=False)
    for r in range(n):
        image = np.asarray(images[r])
        if image.ndim == 3 and image.shape[-1] == 1:
            image = image[..., 0]
        axes[r, 0].imshow(image, cmap="gray" if image.ndim == 2 else None)
        axes[r, 0].set_title(" ".join(captions[r]), fontsize=8)
        for c in range(1, cols):
            ax = axes[r, c]
            if c - 1 < len(captions[r]):
                weights = np.asarray(attention[r][c - 1])
                grid = weights.reshape(-1, grid_width)
                ax.imshow(image, cmap="gray" if image.ndim == 2 else None)
                ax.imshow(grid, cmap="inferno", alpha=0.6, aspect="auto",
                          extent=(-0.5, image.shape[1] - 0.5,
                                  image.shape[0] - 0.5, -0.5),
                          interpolation="nearest")
                ax.set_title(repr(captions[r][c - 1]), fontsize=8)
    for ax in axes.ravel():
        ax.set_xticks([])
        ax.set_yticks([])
    fig.tight_layout()
    _save(fig, path)
    return path


def _save(fig, path):
    folder = os.path.dirname(os.path.abspath(path))
    os.makedirs(folder, exist_ok=True)
    fig.savefig(path, dpi=90)
    import matplotlib.pyplot as plt

    plt.close(fig)
