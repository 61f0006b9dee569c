"""Every rnnzoo plot: training curves, confusion matrices, forecasts, attention maps.

One function per plot; each writes a PNG atomically (`save_figure`, through
`rnnzoo.io.atomic_path`) and returns its path. matplotlib is imported lazily
with the non-interactive Agg backend, so the library imports without a
display.
"""

import os

import numpy as np

from rnnzoo.io import atomic_path


def pyplot():
    """matplotlib.pyplot with the non-interactive Agg backend (no display needed)."""
    import matplotlib

    matplotlib.use("Agg", force=True)
    import matplotlib.pyplot as plt

    return plt


def save_figure(figure, path):
    """Saves a matplotlib figure to `path` atomically (temp file + rename), closes it.

    Returns:
        `path`.
    """
    plt = pyplot()
    try:
        with atomic_path(path) as tmp:
            figure.savefig(tmp, dpi=110, bbox_inches="tight", format="png")
    finally:
        plt.close(figure)
    return path


def plot_history(history, path, *, metrics=None, title=None):
    """Plots training curves, one panel per metric, train and validation.

    Args:
        history: a `keras.callbacks.History` or its `.history` dict
            (`{"loss": [...], "val_loss": [...], ...}`); or a dict of them
            keyed by a label (`{"attention": h1, "no attention": h2}`, the
            members of an ensemble): each panel then shows every run.
        path: the PNG file to write.
        metrics: metric names to plot (default: every key without `val_`).
        title: a title over the panels.

    Returns:
        `path`.

    Example:

    >>> import os, tempfile
    >>> path = os.path.join(tempfile.mkdtemp(), "curves.png")
    >>> plot_history({"loss": [1.0, 0.5], "val_loss": [1.1, 0.7]}, path) == path
    True
    >>> runs = {"a": {"loss": [1.0, 0.5]}, "b": {"loss": [0.9, 0.8, 0.7]}}
    >>> plot_history(runs, path, metrics=["loss"]) == path
    True
    """
    logs = getattr(history, "history", history)
    if not isinstance(logs, dict) or not logs:
        raise ValueError(
            "Expected `history` to be a keras History, a non-empty dict of "
            f"lists or a dict of those. Received: history={history!r}"
        )
    values = [getattr(v, "history", v) for v in logs.values()]
    if all(isinstance(v, dict) for v in values):
        runs = dict(zip((str(k) for k in logs), values))
    else:
        runs = {None: logs}
    if metrics is None:
        metrics = [k for k in next(iter(runs.values()))
                   if not k.startswith("val_") and k != "learning_rate"]
    missing = [m for m in metrics for run in runs.values() if m not in run]
    if missing or not metrics:
        keys = sorted(set().union(*runs.values()))
        raise ValueError(
            f"Expected `metrics` to be keys of the history {keys}. "
            f"Received: metrics={metrics!r}"
        )
    plt = pyplot()
    figure, axes = plt.subplots(1, len(metrics), figsize=(4.5 * len(metrics), 3.5),
                                squeeze=False)
    for axis, metric in zip(axes[0], metrics):
        for label, run in runs.items():
            prefix = "" if label is None else f"{label}: "
            epochs = np.arange(1, len(run[metric]) + 1)
            line, = axis.plot(epochs, run[metric], marker="o", label=f"{prefix}train")
            if f"val_{metric}" in run:
                axis.plot(epochs[:len(run[f"val_{metric}"])], run[f"val_{metric}"],
                          marker="o", label=f"{prefix}validation",
                          linestyle="--" if label is not None else "-",
                          color=line.get_color() if label is not None else None)
        axis.set_xlabel("epoch")
        axis.set_ylabel(metric)
        axis.grid(alpha=0.3)
        axis.legend(fontsize=7 if len(runs) > 2 else None)
    if title:
        figure.suptitle(title)
    return save_figure(figure, path)


def confusion_matrix(y_true, y_pred, num_classes):
    """Counts `(true, predicted)` pairs: a `(num_classes, num_classes)` int array.

    Example:

    >>> confusion_matrix([0, 1, 1], [0, 1, 0], 2).tolist()
    [[1, 0], [1, 1]]
    """
    y_true = np.asarray(y_true, dtype=np.int64).ravel()
    y_pred = np.asarray(y_pred, dtype=np.int64).ravel()
    if y_true.shape != y_pred.shape:
        raise ValueError(
            "Expected `y_true` and `y_pred` of the same length. Received: "
            f"y_true of length {len(y_true)}, y_pred of length {len(y_pred)}"
        )
    for arg, values in (("y_true", y_true), ("y_pred", y_pred)):
        if len(values) and (values.min() < 0 or values.max() >= num_classes):
            raise ValueError(
                f"Expected `{arg}` in [0, {num_classes}). Received: {arg} with "
                f"values in [{values.min()}, {values.max()}]"
            )
    matrix = np.zeros((num_classes, num_classes), dtype=np.int64)
    np.add.at(matrix, (y_true, y_pred), 1)
    return matrix


def plot_confusion_matrix(y_true, y_pred, class_names, path, *, title=None):
    """Plots the row-normalised confusion matrix (rows: true class).

    Each row sums to 1 (rows of classes absent from `y_true` stay 0), so
    the diagonal is each class's recall.

    Args:
        y_true: true class ids.
        y_pred: predicted class ids.
        class_names: one name per class id.
        path: the PNG file to write.
        title: the plot title.

    Returns:
        The row-normalised matrix (float array), after writing `path`.

    Example:

    >>> import os, tempfile
    >>> path = os.path.join(tempfile.mkdtemp(), "cm.png")
    >>> plot_confusion_matrix([0, 1, 1], [0, 1, 0], ["a", "b"], path).tolist()
    [[1.0, 0.0], [0.5, 0.5]]
    """
    class_names = [str(c) for c in class_names]
    counts = confusion_matrix(y_true, y_pred, len(class_names))
    totals = counts.sum(axis=1, keepdims=True)
    matrix = np.divide(counts, np.maximum(totals, 1)).astype("float64")
    plt = pyplot()
    size = max(4.0, 0.45 * len(class_names) + 2)
    figure, axis = plt.subplots(figsize=(size + 1, size))
    image = axis.imshow(matrix, cmap="Blues", vmin=0.0, vmax=1.0)
    figure.colorbar(image, ax=axis, fraction=0.046, pad=0.04)
    ticks = np.arange(len(class_names))
    axis.set_xticks(ticks)
    axis.set_xticklabels(class_names, rotation=90)
    axis.set_yticks(ticks)
    axis.set_yticklabels(class_names)
    axis.set_xlabel("predicted")
    axis.set_ylabel("true")
    if len(class_names) <= 20:
        for i in range(len(class_names)):
            for j in range(len(class_names)):
                if matrix[i, j] >= 0.005:
                    axis.text(j, i, f"{matrix[i, j]:.2f}", ha="center", va="center",
                              fontsize=6,
                              color="white" if matrix[i, j] > 0.5 else "black")
    axis.set_title(title or "confusion matrix (row-normalised)")
    save_figure(figure, path)
    return matrix


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
    actual = np.asarray(actual)

    def draw(ax, k, steps):
        ax.plot(steps, actual[k], color="black", linewidth=2, label="actual")
        for name, forecast in forecasts.items():
            ax.plot(steps, np.asarray(forecast)[k], label=name,
                    linewidth=2 if name == "rnn" else 1,
                    linestyle="-" if name == "rnn" else "--")

    return _origin_panels(path, index, origins, actual.shape[1], draw, picks=picks,
                          context=context, title=title, legend_columns=3)


def _origin_panels(path, index, origins, horizon, draw, *, picks, context, title,
                   legend_columns, context_color="0.6"):
    """One panel per picked origin (evenly spaced): observed context, `draw(ax, k, steps)`.

    The shared frame of `plot_forecasts` and `plot_fan`; writes `path`, returns it.
    """
    plt = pyplot()
    origins = np.asarray(origins)
    chosen = np.unique(np.linspace(0, len(origins) - 1, picks).round().astype(int))
    fig, axes = plt.subplots(len(chosen), 1, figsize=(9, 2.6 * len(chosen)),
                             squeeze=False)
    for ax, k in zip(axes[:, 0], chosen):
        t = int(origins[k])
        if context is not None:
            series, back = context
            lo = max(0, t - back)
            ax.plot(index[lo:t], np.asarray(series)[lo:t], color=context_color,
                    label="observed")
        draw(ax, k, index[t:t + horizon])
        ax.set_title(f"origin {index[t]}", fontsize=9)
    axes[0, 0].legend(fontsize=8, ncol=legend_columns)
    if title:
        fig.suptitle(title)
    fig.tight_layout()
    save_figure(fig, path)
    return path


def plot_fan(path, index, actual, quantile_forecasts, quantiles, intervals, origins,
             picks=3, context=None, title=""):
    """Fan charts for a few test origins: median, interval bands, truth.

    Args:
        path: PNG file to write.
        index: the series' DatetimeIndex (x axis).
        actual: `(origins, horizon)` actual values.
        quantile_forecasts: `(origins, horizon, len(quantiles))`; the 0.5
            level is drawn as the median.
        quantiles: their levels.
        intervals: `{alpha: (lower, upper)}` bands to shade, each
            `(origins, horizon)` (e.g. after conformal calibration).
        origins: row index of each origin's first forecast step.
        picks: number of origins shown (evenly spaced).
        context: `(series, steps)`: draw `steps` observed values before each
            origin.
        title: figure title.

    Returns:
        `path`.

    Example:

    >>> import pandas as pd, tempfile, os
    >>> idx = pd.date_range("2000", periods=10, freq="D")
    >>> q = np.stack([np.zeros((2, 3)) - 1, np.zeros((2, 3)), np.zeros((2, 3)) + 1], -1)
    >>> p = plot_fan(os.path.join(tempfile.mkdtemp(), "fan.png"), idx, np.ones((2, 3)), q,
    ...     (0.1, 0.5, 0.9), {0.2: (q[..., 0], q[..., 2])}, [4, 5])
    >>> os.path.exists(p)
    True
    """
    actual = np.asarray(actual)
    median = np.asarray(quantile_forecasts)[..., list(quantiles).index(0.5)]
    shades = {alpha: 0.18 + 0.22 * rank for rank, alpha in enumerate(sorted(intervals))}

    def draw(ax, k, steps):
        for alpha in sorted(intervals):  # the widest (smallest alpha) first, lightest
            lower, upper = intervals[alpha]
            ax.fill_between(steps, np.asarray(lower)[k], np.asarray(upper)[k],
                            color="tab:blue", alpha=shades[alpha], linewidth=0,
                            label=f"{round(100 * (1 - alpha))}% interval")
        ax.plot(steps, median[k], color="tab:blue", linewidth=2, label="median")
        ax.plot(steps, actual[k], color="black", linewidth=1.5, label="actual")

    return _origin_panels(path, index, origins, actual.shape[1], draw, picks=picks,
                          context=context, title=title, legend_columns=5,
                          context_color="0.5")


def plot_horizon_errors(path, per_horizon, title="MAE by horizon step"):
    """MAE per horizon step for each forecast (dict name -> list).

    Example:

    >>> import tempfile, os
    >>> p = plot_horizon_errors(os.path.join(tempfile.mkdtemp(), "h.png"),
    ...                         {"naive": [1, 2]})
    >>> os.path.exists(p)
    True
    """
    plt = pyplot()
    fig, ax = plt.subplots(figsize=(7, 4))
    for name, values in per_horizon.items():
        ax.plot(np.arange(1, len(values) + 1), values, label=name,
                linewidth=2 if name == "rnn" else 1)
    ax.set_xlabel("steps ahead")
    ax.set_ylabel("MAE")
    ax.set_title(title)
    ax.legend()
    fig.tight_layout()
    save_figure(fig, path)
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
    plt = pyplot()
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
    save_figure(fig, path)
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
    plt = pyplot()
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
    save_figure(fig, path)
    return path


def plot_captions(path, image_paths, captions, attention, grid_shape, words=5, columns=6):
    """Images with their generated caption and where the model looked at each word.

    The "Show, Attend and Tell" figure: per image, the photograph titled
    with its caption, then the attention map of each emitted word
    (bilinearly upsampled over the photograph, brighter = more weight),
    wrapped over rows of `columns` panels.

    Args:
        path: PNG file to write.
        image_paths: the image files, or None to draw the maps alone (e.g.
            for a figure that must not contain the photographs).
        captions: one list of emitted words per image.
        attention: one `(steps, regions)` array per image; the regions are
            a `grid_shape` grid.
        grid_shape: `(rows, columns)` of the encoder's feature grid.
        words: attention maps shown per image (None: every word).
        columns: panels per figure row.

    Returns:
        `path`.

    Example:

    >>> import os, tempfile, keras
    >>> folder = tempfile.mkdtemp()
    >>> image = os.path.join(folder, "a.png")
    >>> keras.utils.save_img(image, np.zeros((8, 8, 3)))
    >>> p = plot_captions(os.path.join(folder, "c.png"), [image], [["a", "dog"]],
    ...                   [np.ones((2, 4)) / 4], (2, 2), words=2)
    >>> os.path.exists(p)
    True
    """
    import keras

    plt = pyplot()
    shown = [len(c) if words is None else min(words, len(c)) for c in captions]
    layout = [int(np.ceil((n + 1) / columns)) for n in shown]  # figure rows per image
    fig, axes = plt.subplots(sum(layout), columns, figsize=(2.0 * columns, 2.2 * sum(layout)),
                             squeeze=False)
    for ax in axes.ravel():
        ax.axis("off")
    top = 0
    for i, (caption, maps, n, height) in enumerate(zip(captions, attention, shown, layout)):
        if image_paths is None:
            image = np.full((224, 224, 3), 0.5)
        else:
            image = keras.utils.img_to_array(keras.utils.load_img(image_paths[i])) / 255.0
        panels = [axes[top + k // columns, k % columns] for k in range(n + 1)]
        if image_paths is None:
            panels[0].text(0.0, 0.5, "\n".join(_wrap(" ".join(caption) or "(empty)", 24)),
                           fontsize=8, va="center", transform=panels[0].transAxes)
        else:
            panels[0].imshow(image)
            panels[0].set_title(" ".join(caption)[:40] or "(empty)", fontsize=7)
        for k in range(n):
            ax = panels[k + 1]
            ax.imshow(image)
            grid = np.asarray(maps[k], "float32").reshape(grid_shape)
            ax.imshow(grid, cmap="gray", alpha=0.6 if image_paths is not None else 1.0,
                      interpolation="bilinear", extent=(0, image.shape[1], image.shape[0], 0))
            ax.set_title(caption[k], fontsize=8)
        top += height
    fig.tight_layout()
    save_figure(fig, path)
    return path


def _wrap(text, width):
    import textwrap

    return textwrap.wrap(text, width) or [text]
