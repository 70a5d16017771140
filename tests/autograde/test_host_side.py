"""What nbgrader and the pipeline do on the host never goes through what student code left in
the folder its kernels ran in (nbgrade.HostSideAutograde, pipeline.publish_graded)."""
import os
import stat

import nbformat
import pytest
from nbconvert.writers import FilesWriter
from nbgrader.coursedir import CourseDirectory
from traitlets.config import Config

from coursekit import untrusted
from coursekit.autograde.nbgrade import HostSideAutograde
from coursekit.autograde.pipeline import publish_graded

RESOURCES = {"nbgrader": {"assignment": "a1", "student": "eve"}, "unique_key": "knn",
             "output_extension": ".ipynb"}


@pytest.fixture
def victim(tmp_path):
    """A file of the course a kernel points a link at (the master, the gradebook)."""
    path = tmp_path / "course" / "gradebook.db"
    path.parent.mkdir()
    path.write_text("the gradebook")
    path.chmod(0o644)
    return path


@pytest.fixture
def app(tmp_path):
    cfg = Config()
    cfg.CourseDirectory.root = str(tmp_path / "stage")
    cfg.HostSideAutograde.graded_dir = str(tmp_path / "stage" / "graded")
    autograde = HostSideAutograde(coursedir=CourseDirectory(config=cfg), config=cfg)
    autograde.writer = FilesWriter(parent=autograde, config=cfg)   # as start() does
    return autograde


@pytest.fixture
def build(tmp_path):
    """nbgrader's build folder for eve, where the kernels run."""
    folder = tmp_path / "stage" / "autograded" / "eve" / "a1"
    folder.mkdir(parents=True)
    return folder


def test_the_graded_notebook_goes_to_the_graded_folder_not_through_a_planted_link(
        app, build, victim, tmp_path):
    (build / "knn.ipynb").symlink_to(victim)   # planted by the kernel while the notebook ran
    app._sanitizing = False
    app.write_single_notebook('{"graded": true}', RESOURCES)
    assert victim.read_text() == "the gradebook"
    assert (tmp_path / "stage" / "graded" / "knn.ipynb").read_text() == '{"graded": true}'


def test_the_first_pass_notebook_replaces_a_link_instead_of_writing_through_it(
        app, build, victim):
    (build / "knn.ipynb").symlink_to(victim)
    app._sanitizing = True
    app.write_single_notebook('{"first": "pass"}', RESOURCES)
    assert victim.read_text() == "the gradebook"
    assert not (build / "knn.ipynb").is_symlink()
    assert (build / "knn.ipynb").read_text() == '{"first": "pass"}'
    assert app.writer.build_directory == str(build)   # Autograde reads it back from there


def test_permissions_are_not_set_through_links_of_the_build_folder(app, build, victim):
    (build / "planted.py").symlink_to(victim)
    app.set_permissions("a1", "eve")
    assert stat.S_IMODE(victim.stat().st_mode) == 0o644


def tree(root, files):
    for rel, text in files.items():
        (root / rel).parent.mkdir(parents=True, exist_ok=True)
        (root / rel).write_text(text)
    return root


@pytest.fixture
def staged(tmp_path):
    """(submitted, its snapshot, graded notebooks) of one staging folder."""
    submitted = tree(tmp_path / "submitted", {"knn.ipynb": "student's", "cs231n/knn.py": "code",
                                              "cs231n/saved/m.npy": "model"})
    graded = tree(tmp_path / "graded", {"knn.ipynb": "graded"})
    return submitted, untrusted.snapshot(submitted), graded


def files_of(folder):
    return {p.relative_to(folder).as_posix(): ("link" if p.is_symlink() else p.read_text())
            for p in sorted(folder.rglob("*")) if p.is_symlink() or p.is_file()}


def test_published_folder_holds_the_submission_and_graded_notebooks_only(
        staged, tmp_path, victim):
    submitted, pristine, graded = staged
    workdir = tree(tmp_path / "work", {"cs231n/knn.py": "rewritten by the kernel",
                                       "huge.bin": "x" * 10_000})
    (workdir / "cs231n" / "master").symlink_to(victim.parent)
    os.mkfifo(workdir / "pipe")
    publish_graded(submitted, pristine, graded, workdir, tmp_path / "publish")
    assert files_of(workdir) == {"cs231n/knn.py": "code", "cs231n/saved/m.npy": "model",
                                 "knn.ipynb": "graded"}
    assert victim.read_text() == "the gradebook"


def test_publishing_refuses_a_submission_copy_changed_since_collect(staged, tmp_path):
    submitted, pristine, graded = staged
    (submitted / "cs231n" / "knn.py").write_text("changed by student code")
    with pytest.raises(untrusted.Tampered, match="cs231n/knn.py"):
        publish_graded(submitted, pristine, graded, tmp_path / "work", tmp_path / "publish")


def test_nbgraders_metadata_check_is_jsonschemas_with_the_schema_checked_once(monkeypatch):
    """nbgrader checks every graded cell's metadata with jsonschema.validate; ours gives the
    same verdict and the same error, and checks nbgrader's schema itself once."""
    import jsonschema
    from nbgrader.nbgraderformat import MetadataValidator, common

    from coursekit.autograde import nbgrade

    assert isinstance(common.jsonschema, nbgrade._CheckedSchemaValidation)
    checked = []
    real_check = jsonschema.Draft4Validator.check_schema.__func__

    def counting(cls, schema, *args, **kwargs):
        checked.append(cls)
        return real_check(cls, schema, *args, **kwargs)

    monkeypatch.setattr(common, "jsonschema", nbgrade._CheckedSchemaValidation())
    for cls in {jsonschema.validators.validator_for(MetadataValidator().schema)}:
        monkeypatch.setattr(cls, "check_schema", classmethod(counting))
    validator = MetadataValidator()
    good = {"grade": True, "solution": False, "locked": True, "points": 2.0,
            "grade_id": "t1", "schema_version": validator.schema_version, "task": False}
    bad = [{**good, "points": "two"}, {**good, "grade_id": 3}, {**good, "solution": "yes"},
           {**good, "points": -1}]
    for metadata in [good] * 3:
        validator.validate_cell(nbformat.v4.new_code_cell(metadata={"nbgrader": metadata}))
    for metadata in bad:
        with pytest.raises(jsonschema.ValidationError) as ours:
            validator.validate_cell(nbformat.v4.new_code_cell(metadata={"nbgrader": metadata}))
        with pytest.raises(jsonschema.ValidationError) as theirs:
            jsonschema.validate(metadata, validator.schema)
        assert (ours.value.message, list(ours.value.path)) == (
            theirs.value.message, list(theirs.value.path))
    assert len(checked) == 1 + len(bad)  # ours once; jsonschema.validate once per call
