"""A stop's aftermath is the stop's: when Ctrl-C (SIGINT) cuts a grading short, the grading may end
in another error than KeyboardInterrupt (an asyncio future it left half-done raises
InvalidStateError; seen in test_batch.py's interrupted run, once in about ten). That student was
interrupted, not failed: no "grading failed" result, the earlier result kept (and marked), in
a local batch (serial or pool) and on a Dask worker alike. Without a stop, the same error is
still the grading's failure, recorded as an error."""
import asyncio
import pickle
import signal

import pytest

from coursekit.autograde import batch, cluster, interrupts, pipeline
from coursekit.autograde.grading_run import GradingRun
from coursekit.autograde.result import ERROR, INTERRUPTED, TEST, Item, Result


@pytest.fixture
def course(tmp_path, monkeypatch):
    course = GradingRun(output_root=tmp_path / "out")
    monkeypatch.setitem(batch._WORKER, "course", course)
    monkeypatch.setitem(batch._WORKER, "scratch", tmp_path / "scratch")
    return course


def cut_short(stop, monkeypatch):
    """Grading that ends in InvalidStateError, after a SIGINT was received when `stop`."""
    def grade(*args, **kwargs):
        if stop:
            interrupts._State.received.append(signal.SIGINT)
        raise asyncio.InvalidStateError("invalid state")

    monkeypatch.setattr(interrupts._State, "received", [])
    monkeypatch.setattr(pipeline, "grade_submission", grade)
    monkeypatch.setattr(cluster, "grade", lambda request, state, job: grade())


def test_an_error_after_a_stop_interrupts_the_student_and_writes_no_result(course, tmp_path,
                                                                          monkeypatch):
    cut_short(True, monkeypatch)
    with pytest.raises(KeyboardInterrupt):
        batch._grade_task("eve", tmp_path)
    assert not course.result_path("eve").exists()
    # In a pool worker: the interrupted outcome, which stops the batch.
    assert batch._pool_task("eve", tmp_path)[3] == INTERRUPTED
    assert not course.result_path("eve").exists()


def test_the_earlier_result_of_a_student_stopped_that_way_is_kept_and_marked(course, tmp_path,
                                                                           monkeypatch):
    earlier = Result("eve", course.assignment, items=[Item("knn:test", TEST, 7.0, 10.0)])
    pipeline.atomic_write_text(course.result_path("eve"), earlier.dumps())
    cut_short(True, monkeypatch)
    outcomes, shown = {}, batch.Progress(1, show=False)
    with pytest.raises(KeyboardInterrupt):
        batch._run_serial(course, [("eve", tmp_path)], outcomes, shown)
    kept = Result.load(course.result_path("eve"))
    assert (kept.status, kept.score) == (INTERRUPTED, 7.0)
    assert outcomes == {}


def test_the_same_error_without_a_stop_is_the_gradings_failure(course, tmp_path, monkeypatch):
    cut_short(False, monkeypatch)
    outcome = batch._grade_task("eve", tmp_path)
    assert outcome[3] == "InvalidStateError: invalid state"
    assert Result.load(course.result_path("eve")).status == ERROR


@pytest.mark.parametrize("stop, answer", [(True, {"interrupted": True}),
                                          (False, "InvalidStateError: invalid state")])
def test_a_dask_workers_grading_cut_short_by_a_stop_answers_interrupted(tmp_path, monkeypatch,
                                                                        stop, answer):
    cut_short(stop, monkeypatch)
    job = tmp_path / "job"
    job.mkdir()
    (job / "request.pickle").write_bytes(pickle.dumps({"student": "eve"}))
    got = cluster.answer_job("grade", job, tmp_path / "state")
    assert (got if stop else got["error"]) == answer
    assert pickle.loads((job / "answer.pickle").read_bytes()) == got
