"""coursekit similarity on a planted class (tests/similarity/planted.py) and on small cases."""
import json
import os
from pathlib import Path
from types import SimpleNamespace

import pytest

from coursekit import cli, untrusted
from coursekit.autograde.report import SIMILARITY_INDEX, link_similarity, similarity_lines
from coursekit.course import Course, ManifestError
from coursekit.release.leakcheck import path_leaks
from coursekit.similarity import command, compare, pages, synthetic, units
from tests.similarity import planted

KNN_CELL = f"knn.ipynb::{planted.CV_CELL}"
SOFTMAX_VEC = "classifiers/softmax.py::softmax_loss_vectorized"
# Long functions every style writes in its own words: a planted copy must be flagged on them.
LONG = ["classifiers/softmax.py::softmax_loss_naive", SOFTMAX_VEC, "layers.py::softmax_loss",
        "optim.py::adam",
        "classifiers/k_nearest_neighbor.py::KNearestNeighbor.compute_distances_no_loops"]
EXPECTED_PAIRS = {("ana", "ben"), ("cara", "dan"), ("eve", "fay"), ("gus", "hal"),
                  ("ivy", "reference:pubrepo"), ("jon", "kim")}


@pytest.fixture(scope="module")
def course():
    return Course.find(Path(__file__).parent)


@pytest.fixture(scope="module")
def assignment(course):
    return units.assignment_of(course)


@pytest.fixture(scope="module")
def report(course, tmp_path_factory):
    """The planted class compared with the default settings, its report written."""
    root = tmp_path_factory.mktemp("planted")
    submitted, reference = planted.build_class(course, root)
    out = root / "autograded" / "similarity"
    comparison, index, _ = command.run_similarity(course, submitted, reference, out,
                                               compare.Settings(), log=lambda *_: None)
    return SimpleNamespace(comparison=comparison, index=index, root=root)


def _pairs(comparison):
    return {(p.a, p.b): p for p in comparison.reported()}


def _flagged(pair):
    return {m.unit for m in pair.flagged(compare.Settings().threshold)}


@pytest.mark.parametrize("a, b", [p[:2] for p in planted.PLANTED])
def test_a_planted_copy_is_reported_on_its_long_functions(report, a, b):
    pair = _pairs(report.comparison)[(a, b)]
    assert set(LONG) <= _flagged(pair)
    assert all(pair.units[u].similarity == 1.0 for u in LONG)


def test_a_function_copied_from_a_reference_is_reported_on_that_function_only(report):
    pair = _pairs(report.comparison)[("ivy", "reference:pubrepo")]
    assert _flagged(pair) == {SOFTMAX_VEC}


def test_a_copied_notebook_cell_is_reported_on_that_cell_only(report):
    pair = _pairs(report.comparison)[("jon", "kim")]
    assert _flagged(pair) == {KNN_CELL}


def test_independent_solutions_and_untouched_stubs_are_not_reported(report):
    # Every other pair of the class (5 independent styles of each function, 3 independent
    # cross-validation cells, the release twice) stays under the threshold.
    assert set(_pairs(report.comparison)) == EXPECTED_PAIRS


def test_pairs_are_ranked_by_evidence(report):
    t = report.comparison.settings.threshold
    evidence = [p.evidence(t) for p in report.comparison.reported()]
    assert evidence == sorted(evidence, reverse=True)
    assert evidence[-1] < evidence[0]


def test_a_short_function_copied_verbatim_is_weighted_under_the_threshold(report):
    match = _pairs(report.comparison)[("ana", "ben")].units["layers.py::relu_forward"]
    assert match.similarity == 1.0
    assert match.score < report.comparison.settings.threshold
    assert match.weight == pytest.approx(min(match.counts) / compare.Settings().min_fingerprints)


def test_untouched_stubs_leave_nothing_to_compare(report):
    stubs = [s for s in report.comparison.sources if s.name.startswith("stub")]
    assert len(stubs) == 2 and all(s.texts for s in stubs)  # read, then left out as boilerplate
    assert not [p for p in report.comparison.pairs if {"stub1", "stub2"} & set(p)]


def test_the_report_is_self_contained_and_ranked(report):
    html = report.index.read_text(encoding="utf-8")
    pages = sorted(report.index.parent.glob("pair-*.html"))
    assert len(pages) == len(EXPECTED_PAIRS)
    assert "evidence to review, not a verdict" in html
    assert html.index("eve &amp; fay") < html.index("jon &amp; kim")
    for page in [report.index, *pages]:
        text = page.read_text(encoding="utf-8")
        assert "<script" not in text and "http" not in text
    ivy = next(p for p in pages if "reference pubrepo" in p.read_text(encoding="utf-8"))
    assert ivy.read_text(encoding="utf-8").count("<mark>") >= 2  # both sides marked


@pytest.mark.parametrize("disguise", [synthetic.rename_variables, synthetic.reformat])
def test_renaming_and_reformatting_leave_the_fingerprints_unchanged(course, disguise):
    text = (course.package_dir / "layers.py").read_text(encoding="utf-8")
    settings = compare.Settings()
    for name, body in units.functions_of(text).items():
        disguised = units.functions_of(disguise(text))[name]
        assert disguised != body
        assert compare.hashes_of(disguised, settings) == compare.hashes_of(body, settings)


def test_reordering_the_functions_leaves_every_unit_unchanged(course):
    text = (course.package_dir / "optim.py").read_text(encoding="utf-8")
    reordered = synthetic.reorder_functions(text)
    assert reordered != text
    assert units.functions_of(reordered) == units.functions_of(text)


def _tiny(texts_by_source, boilerplate=(), references=()):
    unit = units.Unit("layers.py", "f", "function")
    assignment = units.Assignment("cs231n", [unit], (), list(boilerplate))
    sources = []
    for name, text in texts_by_source.items():
        source = units.Source(name, reference=name in references)
        source.add(unit, text)
        sources.append(source)
    return assignment, sources, unit


LONG_TEXT = (Path(__file__).parent / "planted.py").read_text(encoding="utf-8").split(
    "REFERENCE_SOFTMAX = '''")[1].split("'''")[0]


def test_what_most_of_the_class_writes_alike_is_left_out():
    # 10 students; 3 write the same function (over 20% of them, at least 3): common, not shown.
    texts = {f"s{i}": f"def f(x):\n    return x + {i}\n" for i in range(7)}
    texts.update({f"c{i}": LONG_TEXT for i in range(3)})
    assignment, sources, _ = _tiny(texts)
    assert not compare.compare(sources, assignment, compare.Settings()).reported()
    # The same text held by 2 of them only is reported.
    texts["c2"] = "def f(x):\n    return x - 1\n"
    assignment, sources, _ = _tiny(texts)
    reported = compare.compare(sources, assignment, compare.Settings()).reported()
    assert [(p.a, p.b) for p in reported] == [("c0", "c1")]


def test_release_code_is_boilerplate():
    texts = {"a": LONG_TEXT, "b": LONG_TEXT}
    assignment, sources, _ = _tiny(texts, boilerplate=[LONG_TEXT])
    assert not compare.compare(sources, assignment, compare.Settings(threshold=0.01)).pairs


def test_a_hostile_or_broken_submission_costs_only_its_own_units(course, assignment, tmp_path):
    sub = synthetic.write_submission(tmp_path / "s", course)
    layers = sub / course.package / "layers.py"
    layers.unlink()
    layers.symlink_to(course.package_dir / "layers.py")  # the master, through a link
    (sub / course.package / "optim.py").write_text("def sgd(:\n", encoding="utf-8")
    (sub / "knn.ipynb").write_text("{not json", encoding="utf-8")
    big = json.loads((sub / "softmax.ipynb").read_text(encoding="utf-8"))
    big["cells"][0]["source"] = "x" * 300_000
    (sub / "softmax.ipynb").write_text(json.dumps(big), encoding="utf-8")
    limits = untrusted.Limits(max_notebook_bytes=200_000)
    source = units.read_submission("s", sub, assignment, limits)
    problems = "\n".join(source.problems)
    assert "cs231n/layers.py is a symbolic link" in problems
    assert "cs231n/optim.py does not parse (line 1)" in problems
    assert "knn.ipynb is not a notebook" in problems
    assert "softmax.ipynb is" in problems and "over the grader's limit" in problems
    assert not any(k.startswith(("layers.py", "optim.py", "knn.ipynb", "softmax.ipynb"))
                   for k in source.texts)
    assert "classifiers/softmax.py::softmax_loss_naive" in source.texts  # the rest is read


def test_a_reference_folder_in_any_layout(assignment, tmp_path):
    (tmp_path / "deep" / "nested").mkdir(parents=True)
    (tmp_path / "deep" / "nested" / "net.py").write_text(
        "class TwoLayerNet:\n    def loss(self, X, y=None):\n        return 1\n\n"
        "def adam(w, dw, config=None):\n    return w, config\n", encoding="utf-8")
    cells = [{"cell_type": "code", "id": planted.CV_CELL.replace("_", "-"), "metadata": {},
              "source": "a = 1"},
             {"cell_type": "code", "id": "other", "metadata": {}, "source": "b = 2"}]
    (tmp_path / "mine.ipynb").write_text(json.dumps({"cells": cells}), encoding="utf-8")
    (tmp_path / "broken.py").write_text("def (", encoding="utf-8")
    source = units.read_reference("r", tmp_path, assignment)
    assert source.texts["classifiers/fc_net.py::TwoLayerNet.loss"] == [
        "def loss(self, X, y=None):\n    return 1"]
    assert "optim.py::adam" in source.texts
    assert source.texts[KNN_CELL] == ["a = 1", "b = 2"]  # by id, and by content
    assert len([k for k, v in source.texts.items() if "b = 2" in v]) == len(
        assignment.cell_units())
    assert any("broken.py" in p for p in source.problems)


def test_settings_come_from_the_course_manifest(tmp_path):
    course = SimpleNamespace(root=tmp_path)
    (tmp_path / "course.toml").write_text("[similarity]\nthreshold = 0.8\n", encoding="utf-8")
    assert command.settings_of(course).threshold == 0.8
    for bad, said in [("threshold = 2", "threshold 2"), ("colour = 1", "does not know colour"),
                      ("k = 'x'", "must be a number")]:
        (tmp_path / "course.toml").write_text(f"[similarity]\n{bad}\n", encoding="utf-8")
        with pytest.raises(ManifestError, match=said):
            command.settings_of(course)


def test_the_verb_writes_the_report_and_links_it_from_the_summary(course, tmp_path, capsys):
    for student in ("a", "b"):
        synthetic.write_submission(tmp_path / "submitted" / student / course.assignment, course)
    summary = tmp_path / "autograded" / "summary.md"
    summary.parent.mkdir()
    summary.write_text("# summary\n", encoding="utf-8")
    code = cli.main(["similarity", "--output-root", str(tmp_path), "--threshold", "0.5",
                     "--reference", str(tmp_path / "none")])
    assert code == 0
    assert (tmp_path / "autograded" / SIMILARITY_INDEX).is_file()
    assert "2 submissions" in capsys.readouterr().out
    link_similarity(summary)  # a second time: still one link
    assert summary.read_text(encoding="utf-8").count(f"]({SIMILARITY_INDEX})") == 1
    assert similarity_lines(tmp_path / "elsewhere") == []
    assert cli.main(["similarity", "--output-root", str(tmp_path / "none")]) == 2
    assert "is not a folder" in capsys.readouterr().err


def test_the_release_refuses_the_report_and_feedback_never_links_it():
    assert [leak.kind for leak in path_leaks("similarity/index.html")] == ["instructor-report"]
    assert [leak.kind for leak in path_leaks("x/similarity/reference/a/layers.py")] == [
        "instructor-report"]
    assert not list(path_leaks("cs231n/layers.py"))
    templates = Path(cli.__file__).parent / "autograde" / "templates"
    for dirpath, _, filenames in os.walk(templates):
        for name in filenames:
            assert "similarity" not in Path(dirpath, name).read_text(encoding="utf-8")


def test_the_benchmark_class_is_varied_python(course, assignment, tmp_path):
    synthetic.random_class(course, tmp_path, 3, seed=1)
    sources = [units.read_submission(p.name, p / course.assignment, assignment)
               for p in sorted(tmp_path.iterdir())]
    for source in sources:
        assert not source.problems
        assert set(source.texts) == {u.key for u in assignment.units}
    varied = [u.key for u in assignment.units
              if len({s.texts[u.key][0] for s in sources}) == len(sources)]
    assert len(varied) > len(assignment.units) / 2  # most units differ between all three


def test_comment_lines_are_cut_before_tokenising_without_changing_the_fingerprints(course):
    settings = compare.Settings()
    text = (course.package_dir / "classifiers" / "softmax.py").read_text(encoding="utf-8")
    for body in units.functions_of(text).values():
        assert "#" in body
        assert compare.hashes_of(body, settings) == set(
            compare.code_fingerprint(body, settings).hashes)


def test_student_text_is_escaped_in_the_report(tmp_path):
    hostile = LONG_TEXT.replace("n_samples = X.shape[0]",
                                "n_samples = X.shape[0]  # </pre><script>alert(1)</script>")
    assignment, sources, _ = _tiny({"<b>x</b>": hostile, "b": hostile})
    comparison = compare.compare(sources, assignment, compare.Settings())
    index = pages.write_report(comparison, assignment, tmp_path / "similarity")
    texts = [p.read_text(encoding="utf-8") for p in sorted(index.parent.iterdir())]
    assert len(texts) == 2
    assert all("<script" not in t and "<b>x</b>" not in t for t in texts)
    assert "&lt;script&gt;" in texts[1] and "&lt;b&gt;x&lt;/b&gt;" in texts[0]


def test_kgram_hashes_are_the_same_in_every_process():
    import subprocess
    import sys

    code = ("from coursekit.similarity.compare import _kgram_hashes; "
            "print(_kgram_hashes('V=V.V(V,0)+V', 5).tolist())")
    here = str(compare._kgram_hashes("V=V.V(V,0)+V", 5).tolist())
    for seed in ("1", "2"):
        out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                             env={**os.environ, "PYTHONHASHSEED": seed}, check=True).stdout
        assert out.strip() == here
    assert len(set(compare._kgram_hashes("V=V.V(V,0)+V", 5).tolist())) == 8
