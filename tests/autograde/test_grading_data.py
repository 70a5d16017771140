"""One way to point grading at CIFAR-10: $CS231N_CIFAR10_DIR (make's GRADING_DATA an alias),
else the course's cs231n/datasets/cifar-10-batches-py; one message when it is missing or wrong,
from coursekit itself (make autograde, autograde-one and coursekit autograde alike)."""
import os
import subprocess
from pathlib import Path

import pytest

from coursekit import cli
from coursekit.autograde.grading_run import (
    DATA_ENV,
    GradingDataError,
    GradingRun,
    find_grading_data,
)
from coursekit.synthetic import write_synthetic_cifar10

REPO_ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture
def course_root(tmp_path):
    """A course folder with a course.toml (so it needs CIFAR-10) and no data yet."""
    root = tmp_path / "course"
    (root / "source" / "assignment1").mkdir(parents=True)
    (root / "source" / "assignment1" / "adder.ipynb").write_text("{}")
    (root / "course.toml").write_text('[assignment]\nname = "assignment1"\n'
                                      '[[notebooks]]\nname = "adder"\n')
    return root


def assert_says_what_to_do(message, path):
    assert DATA_ENV in message and str(path) in message
    assert "get_datasets.sh" in message and "cifar-10-batches-py" in message


def test_the_variable_wins_and_a_wrong_one_is_named_with_the_path_tried(course_root, tmp_path):
    data = Path(write_synthetic_cifar10(tmp_path / "data", num_train=50, num_test=10))
    course = GradingRun(root=course_root)
    assert find_grading_data(course, {DATA_ENV: str(data)}) == data.resolve()
    with pytest.raises(GradingDataError) as info:
        find_grading_data(course, {DATA_ENV: "/nonexistent/cifar"})
    assert_says_what_to_do(str(info.value), "/nonexistent/cifar")
    assert "does not exist" in str(info.value)
    (data / "test_batch").unlink()
    with pytest.raises(GradingDataError) as info:
        find_grading_data(course, {DATA_ENV: str(data)})
    assert_says_what_to_do(str(info.value), data)
    assert "missing: test_batch" in str(info.value)


def test_without_the_variable_the_courses_own_download_is_used(course_root, tmp_path):
    course = GradingRun(root=course_root)
    default = course_root / "cs231n" / "datasets" / "cifar-10-batches-py"
    with pytest.raises(GradingDataError) as info:
        find_grading_data(course, {})
    assert_says_what_to_do(str(info.value), default)
    assert f"{DATA_ENV} is not set" in str(info.value)
    write_synthetic_cifar10(default.parent, num_train=50, num_test=10)
    assert find_grading_data(course, {}) == default.resolve()


def test_a_folder_without_course_toml_needs_no_data(tmp_path):
    (tmp_path / "source" / "assignment1").mkdir(parents=True)
    assert find_grading_data(GradingRun(root=tmp_path), {}) is None


def test_coursekit_autograde_stops_with_the_message_and_grades_nothing(course_root, tmp_path,
                                                                       monkeypatch, capsys):
    submission = tmp_path / "submitted" / "ann" / "assignment1"
    submission.mkdir(parents=True)
    monkeypatch.setenv(DATA_ENV, str(tmp_path / "nowhere"))
    code = cli.main(["autograde", str(submission), "--course-root", str(course_root),
                     "--output-root", str(tmp_path / "out")])
    out, err = capsys.readouterr()
    assert code == 2
    assert_says_what_to_do(err, tmp_path / "nowhere")
    assert "Traceback" not in err and len(err.strip().splitlines()) == 1
    assert not (tmp_path / "out" / "autograded" / "ann").exists()


def make(*args, env=None):
    environ = {k: v for k, v in os.environ.items()
               if k not in ("MAKEFLAGS", "MFLAGS", "MAKELEVEL", DATA_ENV, "GRADING_DATA")}
    environ.update(env or {})
    # `-o .venv/.installed`: this test runs in the virtualenv; it never reinstalls it.
    return subprocess.run(["make", "--no-print-directory", "-o", ".venv/.installed", *args],
                          cwd=REPO_ROOT, env=environ, capture_output=True, text=True,
                          timeout=300)


@pytest.mark.parametrize("how", ["variable", "environment", "alias"])
def test_make_autograde_says_the_same_never_no_rule(how, tmp_path):
    submitted = tmp_path / "submitted"
    (submitted / "ann" / "assignment1").mkdir(parents=True)
    wrong = tmp_path / "nonexistent"
    args, env = ["autograde", f"SUBMITTED={submitted}", f"OUTPUT_ROOT={tmp_path / 'out'}"], {}
    if how == "variable":
        args.append(f"{DATA_ENV}={wrong}")
    elif how == "environment":
        env[DATA_ENV] = str(wrong)
    else:
        args.append(f"GRADING_DATA={wrong}")
    proc = make(*args, env=env)
    assert proc.returncode != 0
    assert "No rule" not in proc.stderr and "Traceback" not in proc.stderr
    assert_says_what_to_do(proc.stderr, wrong)


def test_make_autograde_one_reads_the_variable_too(tmp_path):
    submission = tmp_path / "ann" / "assignment1"
    submission.mkdir(parents=True)
    wrong = tmp_path / "nonexistent"
    proc = make("autograde-one", f"SUBMISSION={submission}", f"OUTPUT_ROOT={tmp_path / 'out'}",
                env={DATA_ENV: str(wrong)})
    assert proc.returncode != 0 and "No rule" not in proc.stderr
    assert_says_what_to_do(proc.stderr, wrong)
