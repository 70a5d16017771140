"""reviews: the instructor's decisions on saved models held for review (model_reviews.csv)."""
import pytest

from coursekit.autograde import reviews
from coursekit.autograde.feedback import index_html
from coursekit.autograde.grading_run import GradingRun
from coursekit.autograde.result import MODEL, Item, Result


def course_at(tmp_path):
    return GradingRun(root=tmp_path, notebooks=("softmax",), module_grader=None, inline_grader=None,
                  db_url=f"sqlite:///{tmp_path}/gb.db")


def held_result(student="dan"):
    item = Item("model:best_two_layer_net", MODEL, 0.0, 4.0, message="held for review",
                status="review")
    item.review = reviews.held_review(item.message, {"validation": 0.31, "test": 0.97,
                                                     "earned": 4.0, "reason": "a gap"})
    return Result(student, "assignment1", items=[item])


@pytest.mark.parametrize("decision, status, score", [
    (None, "pending", 0.0), ("release", "released", 4.0), ("withhold", "withheld", 0.0)])
def test_a_decision_sets_the_score_and_the_students_message(decision, status, score):
    result = held_result()
    decisions = {("dan", "best_two_layer_net"): decision} if decision else {}
    [item] = reviews.apply(result, decisions)
    assert item.review.status == status and item.score == score
    if decision:
        assert "reviewed by your instructor" in item.message
        assert "0.310" in item.message and "0.970" in item.message
    else:
        assert item.message == "held for review"
    assert "a gap" not in item.message  # why it was held is the instructor's


def test_a_decision_for_another_student_or_model_changes_nothing():
    result = held_result()
    reviews.apply(result, {("eve", "best_two_layer_net"): "release",
                           ("dan", "best_softmax"): "release"})
    assert result.items[0].score == 0.0


def test_the_reviews_file_is_read_with_model_names_with_or_without_npy(tmp_path):
    course = course_at(tmp_path)
    assert reviews.load(course) == {}
    reviews.reviews_path(course).write_text(
        "student,model,decision,note\n"
        "dan,best_two_layer_net.npy,release,looked at the notebook\n"
        "\n"
        "eve, softmax ,withhold,\n")
    assert reviews.load(course) == {("dan", "best_two_layer_net"): "release",
                                    ("eve", "softmax"): "withhold"}


@pytest.mark.parametrize("text, where", [
    ("dan,softmax,release\n", "first line"),
    ("student,model,decision\ndan,softmax,ok\n", "line 2"),
    ("student,model,decision\n,softmax,release\n", "line 2"),
])
def test_a_broken_reviews_file_names_the_line_and_stops_the_export(tmp_path, text, where):
    from coursekit.autograde.report import export

    course = course_at(tmp_path)
    reviews.reviews_path(course).write_text(text)
    with pytest.raises(reviews.ReviewsError, match=where):
        reviews.load(course)
    with pytest.raises(reviews.ReviewsError):
        export(course, refresh=False)
    assert not course.grades_csv.exists()


def test_the_feedback_page_shows_a_held_model_as_held_not_failed():
    result = held_result()
    reviews.apply(result, {})
    page = index_html(result, {})
    row = next(ln for ln in page.splitlines() if "best_two_layer_net" in ln)
    assert "held for review" in row and 'class="pending"' in row
    reviews.apply(result, {("dan", "best_two_layer_net"): "withhold"})
    row = next(ln for ln in index_html(result, {}).splitlines() if "best_two_layer_net" in ln)
    assert 'class="fail"' in row
