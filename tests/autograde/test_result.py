"""result: the typed Result of a student, its JSON record, and the Items each step produces."""
import json
import os

import pytest

from coursekit.autograde import batch, inline, module_checks, pipeline, report, reviews
from coursekit.autograde.grading_run import GradingRun
from coursekit.autograde.result import (
    ERROR,
    GRADED,
    INLINE,
    MANUAL,
    MODEL,
    MODULE,
    TEST,
    Item,
    Result,
    Review,
)
from coursekit.grader.results import CheckResult, GradeResult

# A record as pipeline.grade_submission wrote it before results were typed: notebook items
# with "pending", inline items with "needs_manual", module items with neither, no "status".
OLD_RECORD = {
    "version": 1, "student": "ann", "assignment": "assignment1", "fingerprint": "f00d",
    "notebooks": {"knn": {"status": "graded", "file": "knn.ipynb", "seconds": 3.5}},
    "items": [
        {"id": "knn:test_dists", "column": "knn:test_dists", "kind": "test", "score": 2.0,
         "max_score": 3.0, "pending": False, "message": "test failed"},
        {"id": "knn:iq1", "column": "knn:iq1", "kind": "manual", "score": 0.0,
         "max_score": 2.0, "pending": True, "message": "to be graded by hand"},
        {"id": "module:layers.relu", "column": "module:relu_forward", "kind": "module",
         "score": 1.5, "max_score": 2.0, "message": "wrong values"},
        {"id": "model:best_softmax", "column": "model:best_softmax", "kind": "model",
         "score": 0.0, "max_score": 3.0, "message": "held",
         "review": {"status": "pending", "validation": 0.31, "test": 0.97, "held": 2.5,
                    "reason": "a gap", "message": "held"}},
        {"id": "inline:adder.iq2", "column": "inline:adder.iq2", "kind": "inline",
         "score": 1.0, "max_score": 1.0, "needs_manual": False, "message": ""}],
    "notices": ["tiny/x.py skipped"], "grader_notes": ["sandbox: bwrap"],
    "score": 4.5, "max_score": 11.0, "manual_pending": 2.0,
    "timing": {"collect": 0.1, "modules": 2.0},
}


def every_kind():
    """A Result holding one item of each kind, a held model among them."""
    held = Review("pending", 0.31, 0.97, 2.5, "a gap", "held")
    return Result("ann", "assignment1", items=[
        Item("knn:test_dists", TEST, 2, 3, message="test failed"),
        Item("knn:iq1", MANUAL, 0, 2, pending=True),
        Item("module:layers.relu", MODULE, 1.5, 2, column="module:relu_forward",
             status="partial"),
        Item("model:best_softmax", MODEL, 0, 3, status="review", review=held),
        Item("inline:adder.iq2", INLINE, 1, 1, needs_manual=True)],
        notebooks={"knn": {"status": "graded"}}, notices=["n"], grader_notes=["g"],
        fingerprint="f00d", timing={"collect": 0.1})


def test_a_result_survives_its_json_record_unchanged():
    result = every_kind()
    text = result.dumps()
    back = Result.from_json(json.loads(text))
    assert back == result
    assert back.dumps() == text                     # an export finds nothing changed
    assert isinstance(back.items[3].review, Review) and back.items[3].held


def test_the_canonical_form_changes_exactly_when_the_record_does():
    """report's export compares `canonical()` before and after refreshing a result and writes
    the record only when it differs: the same record, also read back, gives the same text; a
    change anywhere in it (an item's score, its review, a notebook's entry) gives another."""
    result = every_kind()
    same = Result.from_json(json.loads(result.dumps()))
    assert result.canonical() == same.canonical()
    assert json.loads(result.canonical()) == json.loads(result.dumps())
    changes = [lambda r: setattr(r.items[0], "score", 2.5),
               lambda r: setattr(r.items[3].review, "status", "released"),
               lambda r: r.notebooks["knn"].setdefault("comments", []).append(["c", "t"]),
               lambda r: setattr(r.items[4], "comment", "see me")]
    for change in changes:
        changed = Result.from_json(json.loads(result.dumps()))
        change(changed)
        assert changed.canonical() != result.canonical()
        assert changed.dumps() != result.dumps()


def test_the_record_keeps_the_keys_the_readers_of_the_json_use():
    data = json.loads(every_kind().dumps())
    # coursekit.autograde.score and the CI workflow read these; reports read the items.
    assert (data["student"], data["score"], data["max_score"], data["manual_pending"]) == (
        "ann", 4.5, 11.0, 2.0)
    assert "status" not in data and "error_detail" not in data and data["version"] == 1
    assert {"id", "column", "kind", "score", "max_score", "message"} <= set(data["items"][0])
    assert "review" not in data["items"][0] and data["items"][3]["review"]["held"] == 2.5


def test_an_old_record_reads_back_with_the_defaults_and_its_totals():
    result = Result.from_json(OLD_RECORD)
    assert result.status == GRADED and result.error_detail == ""
    assert [i.kind for i in result.items] == [TEST, MANUAL, MODULE, MODEL, INLINE]
    assert [i.pending for i in result.items] == [False, True, False, False, False]
    assert result.items[2].column == "module:relu_forward" and result.items[2].status == ""
    assert result.items[3].review == Review("pending", 0.31, 0.97, 2.5, "a gap", "held")
    assert (result.score, result.max_score, result.manual_pending) == (4.5, 11.0, 2.0)
    assert result.notebooks["knn"]["seconds"] == 3.5 and result.timing["modules"] == 2.0


def test_a_hand_written_item_without_column_or_kind_is_read():
    item = Item.from_json({"id": "knn:q", "score": 1, "max_score": 2})
    assert (item.column, item.kind, item.message, item.review) == ("knn:q", "", "", None)


@pytest.mark.parametrize("data", [[], {"items": []}, {"student": "a", "assignment": "b",
                                                      "items": [{"id": "x"}]}])
def test_what_is_not_a_result_is_a_value_error(data):
    with pytest.raises(ValueError, match="not a grading result"):
        Result.from_json(data)


def test_the_class_report_reads_old_records_and_leaves_out_broken_ones(tmp_path):
    course = GradingRun(root=tmp_path, notebooks=("knn",), module_grader=None, inline_grader=None,
                    db_url=f"sqlite:///{tmp_path}/gb.db")
    for student, text in (("ann", json.dumps(OLD_RECORD)), ("bob", "[1, 2]"), ("cat", "{")):
        course.result_path(student).parent.mkdir(parents=True)
        course.result_path(student).write_text(text)
    results = report.load_results(course)
    assert list(results) == ["ann"] and results["ann"].score == 4.5


# --- a result built by each producer ------------------------------------------------------

def test_pipeline_makes_a_notebook_item_of_a_gradebook_grade():
    grade = {"name": "iq1", "kind": "manual", "score": 0.0, "max_score": 2.0,
             "needs_manual_grade": True, "manual_score": None}
    item = pipeline.notebook_item("knn", grade, "to be graded by hand")
    assert (item.id, item.column, item.kind, item.pending) == ("knn:iq1", "knn:iq1", MANUAL,
                                                               True)
    assert pipeline.notebook_item("knn", {**grade, "manual_score": 1.0}, "").pending is False


def check(id_, function, points, status, details=None):
    return CheckResult(id_, function, points, 2.0, status, "", 0.1, details or {})


def test_module_checks_make_one_item_per_check_in_a_column_per_function_or_model():
    relu = module_checks.check_item(check("layers.relu_x", "relu_forward", 1.0, "partial"))
    assert (relu.id, relu.column, relu.kind, relu.score, relu.status) == (
        "module:layers.relu_x", "module:relu_forward", MODULE, 1.0, "partial")
    model = module_checks.check_item(check("saved_models.model[softmax]",
                                           "saved/softmax.npy", 0.0, "not_graded"))
    assert (model.id, model.column, model.kind, model.message) == (
        "model:softmax", "model:softmax", MODEL, "not graded")
    assert model.review is None


def test_a_model_held_by_the_checks_keeps_what_its_release_earns():
    details = {"validation": 0.3, "test": 0.9, "earned": 1.5, "reason": "a gap"}
    item = module_checks.check_item(check("saved_models.model[best_softmax]",
                                          "saved/best_softmax.npy", 0.0, "review", details))
    assert item.held and item.review.held == 1.5 and item.review.reason == "a gap"
    result = Result("ann", "assignment1", items=[item])
    reviews.apply(result, {("ann", "best_softmax"): "release"})
    assert result.score == 1.5 and item.review.status == "released"


def test_the_module_grader_gets_the_cifar_dir_and_the_environment_stays_as_it_was(
        tmp_path, monkeypatch):
    monkeypatch.delenv("CS231N_CIFAR10_DIR", raising=False)
    calls = []

    def grader(submission, cifar_dir=None):
        calls.append((submission, cifar_dir))
        return GradeResult(submission, [check("layers.relu_x", "relu_forward", 2.0, "passed")],
                           notes=["sandbox: none"])

    course = GradingRun(root=tmp_path, module_grader=grader, inline_grader=None,
                    kernel_env={"CS231N_CIFAR10_DIR": "/data/c10"})
    before = dict(os.environ)
    items, notices, notes = module_checks.run_module_checks(course, tmp_path / "s",
                                                            cifar_dir="/data/c10")
    assert calls == [(str(tmp_path / "s"), "/data/c10")]
    assert dict(os.environ) == before
    assert [i.id for i in items] == ["module:layers.relu_x"] and notes == ["sandbox: none"]
    assert notices == []


def test_a_module_grader_that_raises_is_a_notice_not_a_crash(tmp_path):
    def grader(submission, cifar_dir=None):
        raise SystemExit(3)

    course = GradingRun(root=tmp_path, module_grader=grader, inline_grader=None)
    items, notices, _ = module_checks.run_module_checks(course, tmp_path)
    assert items == [] and "module checks failed to run (SystemExit" in notices[0]


def test_the_inline_step_returns_the_scorers_items_or_a_note_for_the_instructor(tmp_path):
    def scorer(notebooks, source_dir):
        assert source_dir == course.source_dir
        return [Item(f"inline:{name}:q", INLINE, 1, 1) for name in notebooks]

    course = GradingRun(root=tmp_path, module_grader=None, inline_grader=scorer)
    items, notes = inline.run_inline(course, {"knn": tmp_path / "knn.ipynb"})
    assert [i.id for i in items] == ["inline:knn:q"] and notes == []

    def broken(notebooks, source_dir):
        raise NotImplementedError("no parser yet")

    items, notes = inline.run_inline(course.with_(inline_grader=broken), {})
    assert items == [] and notes == ["inline answers left to manual grading: no parser yet"]


def test_a_failed_grading_is_recorded_as_an_error_result(tmp_path):
    course = GradingRun(root=tmp_path, module_grader=None, inline_grader=None)
    batch.record_error(course, "ann", "RuntimeError: boom", "Traceback ...")
    result = Result.load(course.result_path("ann"))
    assert result.status == ERROR and result.error_detail == "Traceback ..."
    assert json.loads(course.result_path("ann").read_text())["status"] == "error"
    assert result.items == [] and result.score == 0.0
    assert "grading failed: RuntimeError: boom" in result.notices[0]
    assert not batch.is_done(course, "ann", tmp_path)   # a rerun grades the student again


def test_an_instructors_score_hides_the_automatic_message_until_it_is_taken_back():
    item = Item("knn:knn_inline_q2", INLINE, 0, 1, message="your answer: 2 (not correct)")
    item.set_by_hand(True)
    assert (item.message, item.by_hand) == ("graded by hand", True)
    back = Item.from_json(json.loads(json.dumps(item.to_json())))
    assert back == item                                 # survives make grades' JSON
    back.set_by_hand(True)                              # a second export changes nothing
    assert back == item
    back.set_by_hand(False)
    assert (back.message, back.by_hand, back.auto_message) == (
        "your answer: 2 (not correct)", False, "")


def test_a_free_text_answer_keeps_its_own_message_when_graded_by_hand():
    item = Item("knn:iq1", MANUAL, 2, 2, message="graded by hand")
    item.set_by_hand(True)
    assert (item.message, item.by_hand, item.auto_message) == ("graded by hand", True, "")


def test_comments_go_to_their_item_else_to_their_notebook_and_are_replaced():
    result = Result("ann", "assignment1", items=[
        Item("knn:iq1", MANUAL, 1, 2), Item("knn:knn_inline_q2", INLINE, 1, 1),
        Item("module:f", MODULE, 1, 1)], notebooks={"knn": {"status": "graded"}})
    result.set_comments({"knn:iq1": "cite the slide", "knn:knn_inline_q2": "ok",
                         "knn:solution_cell": "tidy this", "gone:cell": "no notebook"})
    assert [i.comment for i in result.items] == ["cite the slide", "ok", ""]
    assert result.notebooks["knn"]["comments"] == [["solution_cell", "tidy this"]]
    result.set_comments({})                             # a comment the grader deleted
    assert [i.comment for i in result.items] == ["", "", ""]
    assert "comments" not in result.notebooks["knn"]


def test_notebooks_come_back_in_the_course_order_not_the_records():
    result = Result("ann", "assignment1", notebooks={
        n: {"status": "graded"} for n in ("features", "knn", "softmax", "extra")})
    back = Result.from_json(json.loads(result.dumps()))
    assert list(back.notebooks) == ["extra", "features", "knn", "softmax"]   # sorted keys
    assert [n for n, _ in back.notebooks_in_order(("knn", "softmax", "features"))] == [
        "knn", "softmax", "features", "extra"]


@pytest.mark.parametrize("item_id, kind, notebook", [
    ("knn:test_dists", TEST, "knn"), ("knn:knn_inline_q2", INLINE, "knn"),
    ("inline:knn:knn_inline_q2", INLINE, "knn"), ("inline:adder.iq2", INLINE, ""),
    ("module:layers.relu", MODULE, ""), ("model:best_softmax", MODEL, "")])
def test_an_item_knows_its_notebook(item_id, kind, notebook):
    assert Item(item_id, kind, 0, 1).notebook == notebook


def test_a_stop_marks_the_earlier_result_not_the_one_this_grading_finished(tmp_path):
    """A stop that lands after a student's result was written (the result is the grading's
    last step) leaves it complete; a result older than this grading is marked interrupted."""
    import time

    from coursekit.autograde.result import INTERRUPTED

    course = GradingRun(root=tmp_path, module_grader=None, inline_grader=None)
    path = course.result_path("ann")
    path.parent.mkdir(parents=True, exist_ok=True)
    pipeline.atomic_write_text(path, Result("ann", "assignment1").dumps())
    old = time.time() - 60
    os.utime(path, (old, old))
    began = time.time() - 30                      # this grading began after that result
    batch.mark_interrupted(course, "ann", since=began)
    assert Result.load(path).status == INTERRUPTED
    pipeline.atomic_write_text(path, Result("bob", "assignment1").dumps())   # written since
    batch.mark_interrupted(course, "ann", since=began)
    assert Result.load(path).status != INTERRUPTED
