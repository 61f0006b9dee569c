"""PNG plots for recipes: training curves and confusion matrices (matplotlib, Agg).

One function per plot; each writes a PNG atomically and returns its path.
Room is left for more plots (attention heatmaps, forecasts) as functions
beside these ones.
"""

import os
import tempfile

import numpy as np


def _pyplot():
    import matplotlib

    matplotlib.use("Agg", force=True)
    import matplotlib.pyplot as plt

    return plt


def save_figure(figure, path):
    """Saves a matplotlib figure to `path` atomically (temp file + rename), closes it.

    Returns:
        `path`.
    """
    plt = _pyplot()
    path = os.fspath(path)
    folder = os.path.dirname(os.path.abspath(path))
    os.makedirs(folder, exist_ok=True)
    fd, tmp = tempfile.mkstemp(suffix=".png", prefix=".tmp-", dir=folder)
    os.close(fd)
    try:
        figure.savefig(tmp, dpi=110, bbox_inches="tight", format="png")
        os.chmod(tmp, 0o644)  # mkstemp creates files readable by the owner only
        os.replace(tmp, path)
    finally:
        plt.close(figure)
        if os.path.exists(tmp):
            os.remove(tmp)
    return path


def plot_history(history, path, *, metrics=None, title=None):
    """Plots training curves, one panel per metric, train and validation.

    Args:
        history: a `keras.callbacks.History` or its `.history` dict
            (`{"loss": [...], "val_loss": [...], ...}`).
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
    """
    logs = getattr(history, "history", history)
    if not isinstance(logs, dict) or not logs:
        raise ValueError(
            "Expected `history` to be a keras History or a non-empty dict of "
            f"lists. Received: history={history!r}"
        )
    if metrics is None:
        metrics = [k for k in logs if not k.startswith("val_") and k != "learning_rate"]
    missing = [m for m in metrics if m not in logs]
    if missing or not metrics:
        raise ValueError(
            f"Expected `metrics` to be keys of the history {sorted(logs)}. "
            f"Received: metrics={metrics!r}"
        )
    plt = _pyplot()
    figure, axes = plt.subplots(1, len(metrics), figsize=(4.5 * len(metrics), 3.5),
                                squeeze=False)
    for axis, metric in zip(axes[0], metrics):
        epochs = np.arange(1, len(logs[metric]) + 1)
        axis.plot(epochs, logs[metric], marker="o", label="train")
        if f"val_{metric}" in logs:
            axis.plot(epochs[:len(logs[f"val_{metric}"])], logs[f"val_{metric}"],
                      marker="o", label="validation")
        axis.set_xlabel("epoch")
        axis.set_ylabel(metric)
        axis.grid(alpha=0.3)
        axis.legend()
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
    plt = _pyplot()
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
