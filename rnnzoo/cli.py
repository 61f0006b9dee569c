"""Every command-line flag of the recipes: task config flags, scale and tuning flags, resume.

A recipe is `cli.main(task)`, where `task` is a module of `rnnzoo.tasks`
that defines:

- `NAME`: the task's name (the default output folder is `runs/<NAME>`);
- `Config`: a dataclass of the task's settings, with `Config.quick()` (the
  small run of the tests and the demo); each field becomes a flag
  (`batch_size` -> `--batch-size`; booleans get `--x/--no-x`; tuples,
  lists, dicts and None defaults are parsed as Python literals), except
  those with `metadata={"flag": False}` (make fields with
  `rnnzoo.tasks.field`);
- `run(config, runner) -> dict`: trains through the `rnnzoo.training.Runner`
  and returns the metrics (also in `metrics.json`);
- `SUMMARY`: the metric names the summary line shows (or a function of the
  config returning them, where they depend on it);
- optionally `default_output_dir(config)`: the output folder when
  `--output-dir` is not given (default `runs/<NAME>`);
- optionally `COMMANDS`: `{"predict": function}`, commands on a trained
  run (`python recipes/names.py predict Hinton --top 2`). A command is a
  plain function `f(trained, inputs, *, option=default, ...)`: `trained` is
  the run's `Trained` (its folder, loaded model and metrics); the other
  parameters become the command's arguments as config fields become flags
  (a positional parameter annotated `list[str]` takes one or more values,
  one with a default is optional; keyword-only ones are `--options`, a
  `list[...]` one repeatable, a `typing.Literal[...]` one a choice); their
  help is the function's docstring `Args:`. A `ValueError` it raises is
  reported as a usage error.

Flags every recipe shares: `--quick` (start from `Config.quick()`; flags
given beside it still win), `--output-dir`, `--seed`, `--verbose`,
`--set KEY=VALUE` (builder overrides, into the config's `overrides`), the
distribution flags (`--strategy`, `--mixed-precision`, JAX multi-process)
and the tuning flags (`--tune`, `--max-trials`). A killed command run again
resumes where it stopped (see `rnnzoo.training.runner`).
"""

import argparse
import ast
import dataclasses
import os
import sys
import types
import typing

from rnnzoo.data.datasets.resolve import DatasetNotFoundError
from rnnzoo.training.distribute import KINDS
from rnnzoo.training.tuning import TUNERS
from rnnzoo.validation import check_positive_int

# Flags that are not the task's config.
_COMMON = ("quick", "output_dir", "seed", "verbose", "set", "strategy", "mixed_precision",
           "coordinator_address", "num_processes", "process_id", "tune", "max_trials", "debug")


def parse_overrides(items):
    """Parses `KEY=VALUE` strings into builder keyword arguments.

    Values are Python literals when they parse as one (`units=64`,
    `bidirectional=True`, `units=[64,32]`), strings otherwise (`cell=gru`).

    Example:

    >>> parse_overrides(["units=64", "cell=gru", "dropout=0.1"])
    {'units': 64, 'cell': 'gru', 'dropout': 0.1}
    """
    overrides = {}
    for item in items or ():
        key, sep, value = str(item).partition("=")
        key = key.strip()
        if not sep or not key.isidentifier():
            raise ValueError(
                f"Expected `--set` as KEY=VALUE with KEY a keyword argument name. "
                f"Received: --set {item!r}"
            )
        overrides[key] = _literal(value.strip())
    return overrides


def _literal(text):
    try:
        return ast.literal_eval(text)
    except (ValueError, SyntaxError):
        return text


def _flag(name):
    return "--" + name.replace("_", "-")


def _unwrap_optional(hint):
    """`(T, optional)` for a hint `T`, `T | None` or `Optional[T]`."""
    if typing.get_origin(hint) in (typing.Union, types.UnionType):
        args = [a for a in typing.get_args(hint) if a is not type(None)]
        if len(args) == 1:
            return typing.get_origin(args[0]) or args[0], True
        return None, True
    return typing.get_origin(hint) or hint, False


def _value_parser(kind, optional):
    """An argparse `type` for a config field of type `kind` (None: any literal).

    Scalars parse as that type; dicts, lists and tuples as Python literals
    of that type; `optional` fields also take `None`. argparse reports a
    value that does not parse as `argument --x: invalid <type> value: '...'`.
    """
    def parse(text):
        if optional and text in ("None", "none"):
            return None
        if kind in (int, float, str):
            return kind(text)
        value = _literal(text)
        if kind in (dict, list, tuple):
            if isinstance(value, (list, tuple)) and kind in (list, tuple):
                value = kind(value)
            if not isinstance(value, kind):
                raise ValueError(text)
        return value

    parse.__name__ = getattr(kind, "__name__", "literal")  # argparse's error message
    return parse


def _add_config_flags(parser, config_class):
    group = parser.add_argument_group(f"{config_class.__module__.rsplit('.', 1)[-1]} settings")
    hints = typing.get_type_hints(config_class)
    defaults = config_class()
    for field in dataclasses.fields(config_class):
        if (field.name in _COMMON or field.name == "overrides" or not field.init
                or field.metadata.get("flag") is False):
            continue  # `overrides` is `--set`
        default = getattr(defaults, field.name)
        help_text = field.metadata.get("help", "")
        if "(default" not in help_text:  # a help text may say what its default means
            help_text = f"{help_text} (default {default!r})".strip()
        kwargs = dict(dest=field.name, default=argparse.SUPPRESS, help=help_text)
        if "choices" in field.metadata:
            kwargs["choices"] = field.metadata["choices"]
        kind, optional = _unwrap_optional(hints.get(field.name))
        if kind is None and default is not None:
            kind = type(default)
        if kind is bool:
            group.add_argument(_flag(field.name), action=argparse.BooleanOptionalAction, **kwargs)
        else:
            group.add_argument(_flag(field.name), type=_value_parser(kind, optional), **kwargs)


def parser(task):
    """The argument parser of `task`'s recipe: its config flags plus the common ones.

    Example:

    >>> from rnnzoo.tasks import names
    >>> args = parser(names).parse_args(["--quick", "--epochs", "2"])
    >>> args.quick, args.epochs, args.output_dir
    (True, 2, None)
    """
    doc = (task.__doc__ or task.NAME).strip().splitlines()[0]
    commands = getattr(task, "COMMANDS", {})
    epilog = None
    if commands:
        epilog = "commands on a trained run: " + "; ".join(
            f"{name} ({(function.__doc__ or name).strip().splitlines()[0].rstrip('.')}: "
            f"{task.NAME}.py {name} --help)" for name, function in commands.items())
    p = argparse.ArgumentParser(prog=f"{task.NAME}.py", description=doc, allow_abbrev=False,
                                epilog=epilog)
    p.add_argument("--quick", action="store_true",
                   help="the small, fast run of the tests and `make demo`")
    p.add_argument("--output-dir", default=None,
                   help="where the model, metrics.json and plots go (default "
                   + ("set by the task's settings" if hasattr(task, "default_output_dir")
                      else os.path.join("runs", task.NAME)) + ")")
    p.add_argument("--seed", type=int, default=0, help="random seed (default %(default)s)")
    p.add_argument("--verbose", type=int, default=None,
                   help="Keras verbosity (default: progress bars, 2 with --quick)")
    p.add_argument("--set", action="append", default=[], metavar="KEY=VALUE",
                   help="builder override, repeatable (e.g. --set units=64 --set cell=lstm)")
    p.add_argument("--debug", action="store_true",
                   help="on a user error (missing data), print the traceback too")
    _add_config_flags(p, task.Config)
    group = p.add_argument_group("distribution")
    group.add_argument("--strategy", default="auto", choices=KINDS,
                       help="data-parallel strategy (see docs/distributed.md); --batch-size "
                       "is the global batch = per-replica batch x replicas")
    group.add_argument("--mixed-precision", action="store_true",
                       help="mixed_float16 on GPU, mixed_bfloat16 elsewhere; outputs stay float32")
    group.add_argument("--coordinator-address", default=None,
                       help="JAX multi-process: host:port of process 0")
    group.add_argument("--num-processes", type=int, default=None,
                       help="JAX multi-process: number of processes")
    group.add_argument("--process-id", type=int, default=None,
                       help="JAX multi-process: this process' index")
    group = p.add_argument_group("tuning")
    group.add_argument("--tune", default=None, choices=TUNERS,
                       help="search the builder's hyperparameters instead of one training run")
    group.add_argument("--max-trials", type=int, default=10,
                       help="trials for --tune random / bayesian (default %(default)s)")
    return p


def config_from_args(task, args):
    """The task's `Config` from parsed flags: `Config.quick()` under `--quick`, then the flags.

    Example:

    >>> from rnnzoo.tasks import names
    >>> config = config_from_args(names, parser(names).parse_args(["--quick", "--epochs", "2"]))
    >>> config.epochs
    2
    """
    config = task.Config.quick() if args.quick else task.Config()
    given = {f.name: getattr(args, f.name) for f in dataclasses.fields(config)
             if f.init and hasattr(args, f.name) and f.name not in _COMMON}
    if args.set:
        if not any(f.name == "overrides" for f in dataclasses.fields(config)):
            raise ValueError(
                f"Expected no `--set`: the {task.NAME} task has no builder overrides. "
                f"Received: --set {args.set!r}"
            )
        given["overrides"] = {**dict(config.overrides or {}), **parse_overrides(args.set)}
    return dataclasses.replace(config, **given)


def runner_from_args(args):
    """The `Runner` of parsed flags (not started)."""
    from rnnzoo.training.runner import Runner

    check_positive_int("max_trials", args.max_trials)
    if args.verbose is not None and args.verbose not in (0, 1, 2):
        raise ValueError(
            f"Expected `--verbose` to be 0, 1 or 2. Received: --verbose {args.verbose}")
    verbose = args.verbose if args.verbose is not None else (2 if args.quick else 1)
    return Runner(args.output_dir, seed=args.seed, verbose=verbose, strategy=args.strategy,
                  mixed_precision=args.mixed_precision,
                  coordinator_address=args.coordinator_address,
                  num_processes=args.num_processes, process_id=args.process_id,
                  tune=args.tune, max_trials=args.max_trials, quick=args.quick)


def summary(name, metrics, keys, output_dir=None):
    """Prints and returns the one-line summary a recipe ends with.

    Example:

    >>> line = summary("names", {"test_accuracy": 0.81234, "epochs": 3},
    ...                ["test_accuracy", "epochs"])
    names: test_accuracy=0.8123 epochs=3
    """
    parts = []
    for key in keys:
        value = metrics[key]
        parts.append(f"{key}={value:.4f}" if isinstance(value, float) else f"{key}={value}")
    line = f"{name}: " + " ".join(parts)
    if output_dir:
        line += f" -> {output_dir}"
    print(line, flush=True)
    return line


def main(task, argv=None):
    """Runs `task` from the command line; returns its metrics dict.

    `argv[0]` may name one of the task's `COMMANDS` (e.g. `predict`). A
    setting the task's `Config` rejects (e.g. `--epochs 0`) ends in
    `parser.error`: the usage and the message, exit status 2.

    Args:
        task: a module of `rnnzoo.tasks` (see the module docstring).
        argv: the arguments (default `sys.argv[1:]`).

    Returns:
        The task's metrics (or what the command returns).
    """
    argv = sys.argv[1:] if argv is None else list(argv)
    commands = getattr(task, "COMMANDS", {})
    if argv and argv[0] in commands:
        return run_command(task, argv[0], argv[1:])
    p = parser(task)
    args = p.parse_args(argv)
    try:
        config = config_from_args(task, args)
        if args.output_dir is None:
            args.output_dir = (task.default_output_dir(config)
                               if hasattr(task, "default_output_dir")
                               else os.path.join("runs", task.NAME))
        runner = runner_from_args(args)
    except ValueError as error:
        p.error(str(error))
    existed = os.path.exists(args.output_dir)
    try:
        metrics = task.run(config, runner)
    except DatasetNotFoundError as error:
        if args.debug:
            raise
        if not existed:
            _remove_if_untrained(args.output_dir)
        message = str(error)
        if any(a.dest == "data_dir" for a in p._actions):
            message = message.replace("Pass `data_dir=`", "Pass `--data-dir DIR`")
        print(f"{p.prog}: error: {message}\n(--debug prints the traceback)", file=sys.stderr)
        raise SystemExit(2) from None
    if args.tune:
        keys = ["tuner", "trials", "best_score", "tune_seconds"]
    else:
        keys = list(task.SUMMARY(config) if callable(task.SUMMARY) else task.SUMMARY)
    summary(task.NAME, metrics, keys, args.output_dir)
    return metrics


def _remove_if_untrained(output_dir):
    """Removes an output folder this command created when it holds nothing but
    the run record written at start (`checkpoints/run.json`) and empty folders."""
    import shutil

    files = [os.path.relpath(os.path.join(folder, name), output_dir)
             for folder, _, names in os.walk(output_dir) for name in names]
    if set(files) <= {os.path.join("checkpoints", "run.json")}:
        shutil.rmtree(output_dir, ignore_errors=True)


@dataclasses.dataclass(frozen=True)
class Trained:
    """A trained run, as a command gets it.

    Attributes:
        output_dir: the run's folder.
        model: its `model.keras`, loaded (not compiled).
        metrics: its `metrics.json` (an empty dict when absent).
    """

    output_dir: str
    model: typing.Any
    metrics: dict


def _docstring_args(function):
    """`{name: help}` from the `Args:` section of a Google-style docstring."""
    lines = (function.__doc__ or "").splitlines()
    helps, name, indent = {}, None, None
    for line in lines[next((i + 1 for i, x in enumerate(lines) if x.strip() == "Args:"),
                           len(lines)):]:
        stripped = line.strip()
        if not stripped:
            break
        depth = len(line) - len(line.lstrip())
        indent = depth if indent is None else indent
        if depth == indent and ":" in stripped:
            name, _, text = stripped.partition(":")
            helps[name] = text.strip()
        elif depth > indent and name:
            helps[name] += " " + stripped
        else:
            break
    return helps


def _list_item(hint):
    """The element type of a `list[T]` (or `list[T] | None`) hint; None for other hints."""
    for candidate in (hint, *typing.get_args(hint)):
        if candidate is list or typing.get_origin(candidate) is list:
            return (typing.get_args(candidate) or (str,))[0]
    return None


def command_parser(task, command):
    """The parser of `task.COMMANDS[command]`, built from the function's signature.

    Example:

    >>> from rnnzoo.tasks import names
    >>> args = command_parser(names, "predict").parse_args(["Hinton", "Ng", "--top", "2"])
    >>> args.names, args.top, args.output_dir
    (['Hinton', 'Ng'], 2, 'runs/names')
    """
    import inspect

    function = task.COMMANDS[command]
    doc = (function.__doc__ or command).strip().splitlines()[0]
    p = argparse.ArgumentParser(prog=f"{task.NAME}.py {command}", description=doc,
                                allow_abbrev=False)
    helps = _docstring_args(function)
    hints = typing.get_type_hints(function)
    for parameter in list(inspect.signature(function).parameters.values())[1:]:
        name, default, hint = parameter.name, parameter.default, hints.get(parameter.name)
        kwargs = dict(help=helps.get(name, ""))
        if default is not parameter.empty and default is not None:
            kwargs["help"] = f"{kwargs['help'].rstrip('.')} (default {default!r})".strip()
        item = _list_item(hint)
        kind, optional = _unwrap_optional(hint)
        if typing.get_origin(hint) is typing.Literal:
            kwargs["choices"] = typing.get_args(hint)
            kind = type(kwargs["choices"][0])
        if parameter.kind is parameter.KEYWORD_ONLY:
            if default is parameter.empty:
                kwargs["required"], default = True, None
            if kind is bool:
                p.add_argument(_flag(name), action=argparse.BooleanOptionalAction,
                               default=default, **kwargs)
            elif item is not None:  # repeatable
                p.add_argument(_flag(name), type=item, action="append", default=default,
                               **kwargs)
            else:
                p.add_argument(_flag(name), type=_value_parser(kind, optional),
                               default=default, **kwargs)
        elif item is not None:
            nargs = "+" if default is parameter.empty else "*"
            p.add_argument(name, type=item, nargs=nargs, **kwargs)
        elif default is parameter.empty:
            p.add_argument(name, type=_value_parser(kind, optional), **kwargs)
        else:
            p.add_argument(name, type=_value_parser(kind, optional), nargs="?",
                           default=default, **kwargs)
    p.add_argument("--output-dir", default=os.path.join("runs", task.NAME),
                   help="the trained run's folder (default %(default)s)")
    return p


def load_trained(parser, output_dir, task_name, filename="model.keras"):
    """The trained run under `output_dir`: a `Trained`.

    Exits through `parser.error` (usage and status 2) naming the missing file
    and the command that writes it when the run has not been trained.
    """
    from rnnzoo.io import read_json
    from rnnzoo.training.runner import METRICS_FILE
    from rnnzoo.training.saving import load_model

    path = os.path.join(output_dir, filename)
    if not os.path.exists(path):
        parser.error(f"no trained model at {path}: run `python recipes/{task_name}.py` first")
    return Trained(output_dir=output_dir, model=load_model(path, compile=False),
                   metrics=read_json(os.path.join(output_dir, METRICS_FILE), {}))


def run_command(task, command, argv):
    """Runs `task.COMMANDS[command]` on the trained run; returns what it returns."""
    p = command_parser(task, command)
    args = vars(p.parse_args(argv))
    trained = load_trained(p, args.pop("output_dir"), task.NAME)
    try:
        return task.COMMANDS[command](trained, **args)
    except ValueError as error:
        p.error(str(error))
