"""Tests of rnnzoo.cli: config flags, --quick, --set, errors, summary, commands."""

import dataclasses
import os
import types
import typing

import numpy as np
import pytest

from rnnzoo import cli
from rnnzoo.tasks import names
from rnnzoo.tasks import sentiment
from rnnzoo.tasks import textgen

pytestmark = pytest.mark.multi_backend  # no TensorFlow-only code here


@dataclasses.dataclass
class _Config:
    epochs: int = dataclasses.field(default=4, metadata={"help": "epochs"})
    rate: float = 0.5
    cell: str = dataclasses.field(default="lstm", metadata={"choices": ("lstm", "gru")})
    shuffle: bool = True
    limit: int | None = None
    sizes: tuple = (1, 2)
    overrides: dict = dataclasses.field(default_factory=dict)

    def __post_init__(self):
        if self.epochs < 1:
            raise ValueError(f"Expected `epochs` to be a positive integer. "
                             f"Received: epochs={self.epochs!r}")

    @classmethod
    def quick(cls, **changes):
        return cls(**{"epochs": 1, "shuffle": False, **changes})


def _fake_task(runs):
    """A task module whose `run` records what it was given."""

    def run(config, runner):
        runs.append((config, runner))
        return {"score": 0.123456, "epochs": config.epochs}

    def hello(trained, words: list[str], *, times: int = 1,
              loud: typing.Literal["no", "yes"] = "no", tags: list[str] | None = None):
        """Says hello to the words.

        Args:
            words: who to greet.
            times: how many times,
                at least once.
            loud: shout?
            tags: labels, repeatable.
        """
        if times < 1:
            raise ValueError(f"Expected `times` to be a positive integer. Received: times={times}")
        return trained.output_dir, words * times, loud, tags

    return types.SimpleNamespace(NAME="fake", __doc__="A fake task.\n\nMore.", Config=_Config,
                                 run=run, SUMMARY=("score", "epochs"),
                                 COMMANDS={"hello": hello})


def _config(task, *argv):
    return cli.config_from_args(task, cli.parser(task).parse_args(list(argv)))


def test_parse_overrides_literals_and_strings():
    assert cli.parse_overrides(["units=[64, 32]", "cell=gru", "bidirectional=True"]) == {
        "units": [64, 32], "cell": "gru", "bidirectional": True}
    with pytest.raises(ValueError, match=r"Received: --set 'units'"):
        cli.parse_overrides(["units"])
    with pytest.raises(ValueError, match=r"Received: --set '1x=2'"):
        cli.parse_overrides(["1x=2"])


def test_config_flags_parse_by_field_type():
    task = _fake_task([])
    config = _config(task, "--epochs", "7", "--rate", "0.25", "--cell", "gru", "--no-shuffle",
                     "--limit", "30", "--sizes", "(3, 4)")
    assert config == _Config(epochs=7, rate=0.25, cell="gru", shuffle=False, limit=30,
                             sizes=(3, 4))
    assert _config(task, "--limit", "30", "--limit", "None").limit is None
    assert _config(task, "--sizes", "[5]").sizes == (5,)
    assert _config(task) == _Config()
    # `overrides` is `--set`, not a flag of its own.
    assert "--overrides" not in cli.parser(task).format_help()


def test_quick_then_explicit_flags_win():
    task = _fake_task([])
    assert _config(task, "--quick") == _Config(epochs=1, shuffle=False)
    assert _config(task, "--quick", "--epochs", "3", "--shuffle") == _Config(epochs=3)
    config = _config(names, "--quick", "--members", "3", "--epochs", "2")
    assert (config.members, config.epochs) == (3, 2)
    assert config.rnn == names.Config.quick().rnn  # the rest stays quick
    assert _config(names, "--members", "3", "--quick").members == 3  # order does not matter
    assert _config(names).rnn == names.Config().rnn


def test_set_goes_to_overrides():
    config = _config(names, "--quick", "--set", "units=8", "--set", "cell=lstm")
    assert config.overrides == {"units": 8, "cell": "lstm"}
    assert config.rnn == names.Config.quick().rnn
    config = _config(textgen, "--set", "num_layers=1", "--lm", "{'units': 16}")
    assert (config.overrides, config.lm) == ({"num_layers": 1}, {"units": 16})


@pytest.mark.parametrize("argv, message", [
    (["--epochs", "x"], "argument --epochs: invalid int value: 'x'"),
    (["--epochs", "0"], "Expected `epochs` to be a positive integer. Received: epochs=0"),
    (["--members", "-1"], "Received: members=-1"),
    (["--limit", "0"], "Received: limit=0"),
    (["--rnn", "5"], "argument --rnn: invalid dict value: '5'"),
    (["--set", "units"], "Received: --set 'units'"),
    (["--tune", "random", "--max-trials", "0"], "Received: max_trials=0"),
    (["--strategy", "nccl"], "argument --strategy: invalid choice: 'nccl'"),
    (["--verbose", "3"], "Received: --verbose 3"),
    (["--epoch", "3"], "unrecognized arguments: --epoch 3"),
])
def test_bad_flag_values_give_clear_errors(argv, message, capsys, monkeypatch):
    runs = []
    monkeypatch.setattr(names, "run", lambda config, runner: runs.append(config))
    with pytest.raises(SystemExit) as exit_info:
        cli.main(names, argv)
    assert exit_info.value.code == 2
    err = capsys.readouterr().err
    assert message in err and err.startswith("usage: names.py"), err
    assert runs == []  # nothing ran


def test_task_settings_errors_name_the_setting():
    with pytest.raises(SystemExit):
        cli.main(sentiment, ["--bags", "words9"])
    with pytest.raises(ValueError, match=r"Expected `bags` to name members of .* "
                                         r"Received: bags='words9'"):
        sentiment.Config(bags="words9")
    with pytest.raises(ValueError, match="Received: learning_rate=0"):
        textgen.Config(learning_rate=0)


def test_main_runs_the_task_prints_the_summary_and_dispatches_commands(tmp_path, capsys):
    runs = []
    task = _fake_task(runs)
    out = str(tmp_path / "run")
    metrics = cli.main(task, ["--quick", "--output-dir", out, "--seed", "5", "--set", "units=8"])
    assert metrics == {"score": 0.123456, "epochs": 1}
    config, runner = runs[0]
    assert config == _Config(epochs=1, shuffle=False, overrides={"units": 8})
    assert (runner.output_dir, runner.seed, runner.verbose, runner.quick) == (out, 5, 2, True)
    assert (runner.strategy_kind, runner.tune_with, runner.mixed_precision) == (
        "auto", None, False)
    assert capsys.readouterr().out.strip() == f"fake: score=0.1235 epochs=1 -> {out}"
    runner = cli.runner_from_args(cli.parser(task).parse_args(
        ["--tune", "bayesian", "--max-trials", "3", "--verbose", "0", "--output-dir", out]))
    assert (runner.tune_with, runner.max_trials, runner.verbose, runner.quick) == (
        "bayesian", 3, 0, False)


def test_default_output_dir_hidden_fields_and_summary_by_config(tmp_path, capsys, monkeypatch):
    runs = []
    task = _fake_task(runs)
    monkeypatch.chdir(tmp_path)
    cli.main(task, [])
    assert runs[-1][1].output_dir == os.path.join("runs", "fake")

    @dataclasses.dataclass
    class Config(_Config):
        internal: int = dataclasses.field(default=1, metadata={"flag": False})

    task.Config = Config
    task.default_output_dir = lambda config: os.path.join("runs", f"fake_{config.epochs}")
    task.SUMMARY = lambda config: ("epochs",) if config.epochs > 2 else ("score",)
    assert "--internal" not in cli.parser(task).format_help()
    capsys.readouterr()
    cli.main(task, ["--epochs", "3"])
    assert runs[-1][1].output_dir == os.path.join("runs", "fake_3")
    assert capsys.readouterr().out.strip() == f"fake: epochs=3 -> {os.path.join('runs', 'fake_3')}"
    cli.main(task, ["--epochs", "2", "--output-dir", "elsewhere"])
    assert runs[-1][1].output_dir == "elsewhere"
    assert capsys.readouterr().out.strip() == "fake: score=0.1235 -> elsewhere"


def test_every_task_parser_builds_and_quick_is_a_valid_config():
    for task in (names, sentiment, textgen):
        help_text = cli.parser(task).format_help()
        assert help_text.startswith(f"usage: {task.NAME}.py")
        assert "--batch-size" in help_text and "--max-trials" in help_text
        quick = task.Config.quick()
        assert quick.epochs <= task.Config().epochs
        assert dataclasses.replace(quick, epochs=1).epochs == 1


def test_summary_line(capsys):
    line = cli.summary("r", {"acc": 0.123456, "n": 3}, ["acc", "n"], "out")
    assert line == "r: acc=0.1235 n=3 -> out"
    assert capsys.readouterr().out.strip() == line


def test_commands_parse_their_signature_and_run_on_the_trained_run(tmp_path, capsys):
    import rnnzoo

    task = _fake_task([])
    p = cli.command_parser(task, "hello")
    help_text = " ".join(p.format_help().split())  # whatever the terminal's width
    assert help_text.startswith("usage: fake.py hello") and "Says hello to the words." in help_text
    assert "how many times, at least once (default 1)" in help_text
    args = p.parse_args(["a", "b", "--times", "2", "--loud", "yes", "--tags", "x", "--tags", "y"])
    assert vars(args) == {"words": ["a", "b"], "times": 2, "loud": "yes", "tags": ["x", "y"],
                          "output_dir": os.path.join("runs", "fake")}
    for argv, message in [(["a", "--loud", "maybe"], "invalid choice: 'maybe'"),
                          ([], "the following arguments are required: words"),
                          (["a", "--times", "x"], "invalid int value: 'x'")]:
        with pytest.raises(SystemExit):
            p.parse_args(argv)
        assert message in capsys.readouterr().err
    # No trained run: a usage error naming the command that trains one.
    with pytest.raises(SystemExit) as exit_info:
        cli.main(task, ["hello", "a", "--output-dir", str(tmp_path)])
    assert exit_info.value.code == 2
    err = capsys.readouterr().err
    assert os.path.join(str(tmp_path), "model.keras") in err
    assert "python recipes/fake.py" in err
    model = rnnzoo.dense_baseline(num_features=3, num_outputs=2, name="m")
    rnnzoo.save_model(model, os.path.join(tmp_path, "model.keras"))
    assert cli.main(task, ["hello", "a", "--times", "2", "--output-dir", str(tmp_path)]) == (
        str(tmp_path), ["a", "a"], "no", None)
    trained = cli.load_trained(p, str(tmp_path), "fake")
    assert trained.metrics == {}
    x = np.arange(6, dtype="float32").reshape(2, 3)
    np.testing.assert_array_equal(trained.model.predict(x, verbose=0),
                                  model.predict(x, verbose=0))
    # A ValueError of the command is a usage error.
    with pytest.raises(SystemExit) as exit_info:
        cli.main(task, ["hello", "a", "--times", "0", "--output-dir", str(tmp_path)])
    assert exit_info.value.code == 2
    assert "Received: times=0" in capsys.readouterr().err


def test_the_tasks_commands_parse():
    args = cli.command_parser(names, "predict").parse_args(["Hinton", "--top", "2"])
    assert (args.names, args.top) == (["Hinton"], 2)
    args = cli.command_parser(sentiment, "predict").parse_args(["a fine film"])
    assert args.sentences == ["a fine film"]
    p = cli.command_parser(textgen, "predict")
    assert (p.parse_args([]).prompt, p.parse_args([]).temperature) == (textgen.PROMPT, None)
    args = p.parse_args(["the time", "--temperature", "0.5", "--temperature", "1", "--length",
                         "30"])
    assert (args.prompt, args.temperature, args.length) == ("the time", [0.5, 1.0], 30)


def test_missing_data_prints_one_short_error_exits_2_and_leaves_no_folder(tmp_path, capsys,
                                                                         monkeypatch):
    import keras

    from rnnzoo.data.datasets.resolve import DatasetNotFoundError
    from rnnzoo.tasks import names

    monkeypatch.setenv("RNNZOO_DATA_DIR", str(tmp_path / "no_data"))
    monkeypatch.setenv("KERAS_HOME", str(tmp_path / "keras_home"))

    def offline(*args, **kwargs):
        raise OSError("no network in this test")

    monkeypatch.setattr(keras.utils, "get_file", offline)
    out = tmp_path / "run"
    with pytest.raises(SystemExit) as exit_info:
        cli.main(names, ["--quick", "--output-dir", str(out)])
    assert exit_info.value.code == 2
    captured = capsys.readouterr()
    lines = (captured.out + captured.err).strip().splitlines()
    assert len(lines) <= 10, lines
    assert "Traceback" not in captured.err
    assert "names.py: error: Could not find the 'names' dataset" in captured.err
    assert "Pass `--data-dir DIR`" in captured.err and "RNNZOO_DATA_DIR" in captured.err
    assert not out.exists()  # the checkpoints/ folder made at start is gone too
    # --debug shows the error itself, traceback and all.
    with pytest.raises(DatasetNotFoundError):
        cli.main(names, ["--quick", "--output-dir", str(out), "--debug"])


def test_help_lists_the_commands_and_every_flag_has_help(capsys):
    import importlib

    for name in ("names", "sentiment", "textgen", "translation", "timeseries", "tagging",
                 "captioning"):
        task = importlib.import_module(f"rnnzoo.tasks.{name}")
        p = cli.parser(task)
        for action in p._actions:
            assert action.help and not action.help.startswith("(default"), (name, action.dest)
        text = p.format_help()
        for command in getattr(task, "COMMANDS", {}):
            assert f"{name}.py {command} --help" in text.replace("\n", " "), (name, command)
