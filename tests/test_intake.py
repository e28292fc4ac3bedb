"""The one intake (autograder.intake), the exit codes, the error root, the atomic write, the quiet
TensorFlow environment. Fast unit tests, except the two marked slow that grade in the sandbox."""

from __future__ import annotations

import os
import zipfile
from pathlib import Path

import pytest
from click.testing import CliRunner

from autograder import cli, intake
from autograder import course as course_mod
from autograder.atomic import atomic_write, replacing
from autograder.batch import BatchSummary, grade_all
from autograder.errors import EXIT_CODES, AutograderError, exit_code
from autograder.grading import grade_submission
from autograder.intake import Entry, SubmissionError, discover

REPO = Path(__file__).resolve().parents[1]
COURSE = course_mod.load(REPO)
NEURONS = (REPO / "solutions" / "neurons.py").read_text(encoding="utf-8")


def _zip(path: Path, files: dict[str, str]) -> Path:
    with zipfile.ZipFile(path, "w") as zf:
        for name, text in files.items():
            zf.writestr(name, text)
    return path


# -- reading: nested folders, zips, stray files -----------------------------------------------------


def test_a_nested_folder_a_zip_and_an_entry_read_the_same(tmp_path):
    nested = tmp_path / "frank" / "Downloads" / "exercises"
    nested.mkdir(parents=True)
    (nested / "neurons.py").write_text(NEURONS, encoding="utf-8")
    (tmp_path / "frank" / "notes.txt").write_text("hi", encoding="utf-8")
    zipped = _zip(tmp_path / "frank.zip", {"Downloads/exercises/neurons.py": NEURONS})
    reads = [intake.read(tmp_path / "frank", ["neurons"]), intake.read(zipped, ["neurons"]),
             intake.read(Entry("frank", tmp_path / "frank", "folder", "frank"), ["neurons"])]
    assert all(r.files == {"neurons.py": NEURONS} and not r.notes and not r.unusable for r in reads)
    assert intake.module_folder(tmp_path / "frank", ["neurons"]) == nested


def test_what_cannot_be_read_is_a_submission_error(tmp_path):
    (tmp_path / "notes.txt").write_text("hi", encoding="utf-8")
    with pytest.raises(SubmissionError, match="does not exist"):
        intake.read(tmp_path / "nope", ["neurons"])
    with pytest.raises(SubmissionError, match="not a folder or a .zip"):
        intake.read(tmp_path / "notes.txt", ["neurons"])
    (tmp_path / "bad.zip").write_bytes(b"PK\x03\x04 not really")
    with pytest.raises(SubmissionError, match="zip"):
        intake.read(tmp_path / "bad.zip", ["neurons"])
    (tmp_path / "a").mkdir()
    (tmp_path / "b").mkdir()
    (tmp_path / "a" / "neurons.py").write_text("", encoding="utf-8")
    (tmp_path / "b" / "neurons.py").write_text("", encoding="utf-8")
    with pytest.raises(SubmissionError, match="several folders"):
        intake.read(tmp_path, ["neurons"])
    assert intake.read(tmp_path / "a", ["backprop"]).empty


def test_a_stray_file_of_the_class_folder_is_named_not_rowed(tmp_path):
    (tmp_path / "alice").mkdir()
    (tmp_path / "alice" / "neurons.py").write_text(NEURONS, encoding="utf-8")
    _zip(tmp_path / "bob.zip", {"neurons.py": NEURONS})
    (tmp_path / "notes.txt").write_text("not a submission", encoding="utf-8")
    ignored: list[str] = []
    entries = discover(tmp_path, ignored)
    assert [(e.name, e.kind) for e in entries] == [("alice", "folder"), ("bob", "zip")]
    assert ignored == ["notes.txt: not a folder or a .zip of a submission"]
    assert [e.name for e in discover(tmp_path)] == ["alice", "bob"]


# -- decoding: PEP 263, bad encodings named once ---------------------------------------------------


def test_a_declared_latin1_module_is_decoded_as_declared(tmp_path):
    body = "# -*- coding: latin-1 -*-\nGREETING = 'café'\n"
    (tmp_path / "neurons.py").write_bytes(body.encode("latin-1"))
    sub = intake.read(tmp_path, ["neurons"])
    assert sub.files["neurons.py"] == "# -*- coding: utf-8 -*-\nGREETING = 'café'\n" and not sub.notes
    ns: dict = {}
    exec(compile(sub.files["neurons.py"].encode("utf-8"), "neurons.py", "exec"), ns)  # as the worker imports it
    assert ns["GREETING"] == "café"
    assert intake.decode_module("\ufeffx = 'é'\n".encode("utf-8"), "a.py") == "x = 'é'\n"  # a BOM is UTF-8


def test_an_undeclared_bad_encoding_is_named_once_for_its_topic(tmp_path):
    (tmp_path / "neurons.py").write_bytes("x = 'café'\n".encode("latin-1"))
    (tmp_path / "backprop.py").write_text("x = 1\n", encoding="utf-8")
    (tmp_path / "losses.py").write_bytes(b"# coding: no-such-codec\nx = 1\n")
    sub = intake.read(tmp_path, ["neurons", "backprop", "losses"])
    assert set(sub.files) == {"backprop.py"} and set(sub.unusable) == {"neurons", "losses"}
    assert "neurons.py is not UTF-8 text (byte 0xe9 on line 1)" in sub.unusable["neurons"]
    assert "unknown encoding" in sub.unusable["losses"]
    assert len(sub.notes) == 2 and sum("neurons.py is not UTF-8" in n for n in sub.notes) == 1


# -- the command line: exit codes, the error root caught once --------------------------------------


def test_grade_and_check_exit_non_zero_when_nothing_could_be_graded(tmp_path):
    runner = CliRunner()
    for args in (["grade", str(tmp_path / "nope")], ["check", "--folder", str(tmp_path / "nope"), "activations"]):
        result = runner.invoke(cli.main, args)
        assert result.exit_code == 4, (args, result.output)
        assert "does not exist" in result.output and "Total" not in result.output and "0 of 0" not in result.output
    assert exit_code(SubmissionError("x")) == 4


def test_an_autograder_error_is_one_line_and_its_kinds_exit_code(monkeypatch):
    def broken(*_a, **_k):
        raise course_mod.CourseError("course.toml: line 3\nmore detail")

    monkeypatch.setattr(course_mod, "load", broken)
    result = CliRunner().invoke(cli.main, ["stubs", "--check"])
    assert result.exit_code == 5, result.output
    assert result.output.strip() == "autograder: error: course.toml: line 3; more detail"
    help_text = CliRunner().invoke(cli.main, ["--help"]).output
    for code, _, meaning in EXIT_CODES:
        assert meaning.split(":")[0] in help_text, code


def test_every_error_class_has_the_root_and_keeps_its_base():
    from autograder.batch import BatchError
    from autograder.cluster import ClusterLost, CourseMismatch
    from autograder.gradescope import GradescopeError
    from autograder.grading import GradingError
    from autograder.nbgrader_export import ExportError
    from autograder.notebooks import NotebookError
    from autograder.release import ReleaseError
    from autograder.sandbox.client import SandboxStartError, ZygoteError
    from autograder.sandbox.wire import WireError
    from autograder.stubs import MarkerError
    from autograder.term import TermError

    runtime = [BatchError, ClusterLost, CourseMismatch, GradescopeError, GradingError, ReleaseError, SandboxStartError, ZygoteError]
    value = [ExportError, NotebookError, WireError, MarkerError, TermError, SubmissionError]
    assert all(issubclass(c, AutograderError) and issubclass(c, RuntimeError) for c in runtime)
    assert all(issubclass(c, AutograderError) and issubclass(c, ValueError) for c in value)
    assert issubclass(course_mod.CourseError, AutograderError)
    assert {exit_code(c("x")) for c in runtime + value + [course_mod.CourseError]} <= {code for code, _, _ in EXIT_CODES}


def test_summary_counts_add_up():
    from autograder.results import SubmissionResult

    entries = [Entry(n, Path(n), "folder", n) for n in "abcd"]
    s = BatchSummary(entries, [SubmissionResult(n) for n in "abcd"], graded=3, skipped=1, failed=1, unusable=1)
    assert s.scored == 2 and s.graded + s.skipped == s.scored + s.unusable + s.failed == 4
    text = s.counts()
    assert "4 submissions: 3 graded in this run, 1 unchanged" in text and "of the 4: 2 scored, 1 with nothing gradable" in text
    assert "1 unfinished" in text


# -- one atomic write, one quiet environment --------------------------------------------------------


def test_atomic_write_replaces_whole_or_not_at_all(tmp_path):
    target = tmp_path / "sub" / "results.json"
    atomic_write(target, "old")
    with pytest.raises(RuntimeError):
        with replacing(target) as tmp:
            tmp.write_text("half", encoding="utf-8")
            raise RuntimeError("killed while writing")
    assert target.read_text() == "old" and [p.name for p in target.parent.iterdir()] == ["results.json"]
    atomic_write(target, b"new")
    assert target.read_bytes() == b"new"


def test_one_quiet_tensorflow_environment():
    from autograder.quiet import QUIET_TENSORFLOW, quiet_env
    from autograder.sandbox.client import SandboxConfig, sandbox_environment
    from autograder.sandbox.worker import QUIET_LOGS

    assert all(k in os.environ for k in QUIET_TENSORFLOW)  # set by importing the package
    env = sandbox_environment(SandboxConfig(), "/tmp", "token")
    assert {k: env[k] for k in QUIET_TENSORFLOW} == QUIET_TENSORFLOW and QUIET_LOGS is QUIET_TENSORFLOW
    assert quiet_env(X="1")["X"] == "1"


# -- end to end: the same score by grade and grade-all ----------------------------------------------


@pytest.mark.slow
def test_grade_and_grade_all_score_a_nested_folder_and_a_zip_the_same(tmp_path):
    root = tmp_path / "class"
    nested = root / "frank" / "Downloads" / "exercises"
    nested.mkdir(parents=True)
    (nested / "neurons.py").write_text(NEURONS, encoding="utf-8")
    _zip(root / "gina.zip", {"hw/neurons.py": NEURONS})
    full = COURSE.topic("neurons").points
    for path in (root / "frank", root / "gina.zip"):
        single = grade_submission(path, course=COURSE, topics=["neurons"])
        assert single.total == full and not single.error, (path, single.error)
    summary = grade_all(root, tmp_path / "out", jobs=1, topics=["neurons"], course=COURSE, progress=False)
    assert [r.total for r in summary.results] == [full, full] and summary.scored == 2
    result = CliRunner().invoke(cli.main, ["grade", str(root / "gina.zip"), "--topic", "neurons", "--quiet"])
    assert result.exit_code == 0 and f"{full:g} / {full:g}" in result.output, result.output
