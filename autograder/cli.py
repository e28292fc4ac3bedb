"""``autograder <verb>``: a thin command line over the library's functions.

Each verb forwards to one keyword-only function; run ``autograder VERB --help`` for its options.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

import click

from autograder.atomic import atomic_write as _write
from autograder.errors import INCOMPLETE, INTERRUPTED, AutograderError, exit_code, exit_codes_help, one_line


def _remember_course(ctx: click.Context, _param, value: Path | None) -> Path | None:
    if value is not None:
        ctx.meta["autograder.course"] = value
    return value


#: ``--course DIR`` on every verb: the course folder (see :mod:`autograder.course` for the default).
course_option = click.option(
    "--course", "course_dir", type=click.Path(file_okay=False, path_type=Path), expose_value=False, is_eager=True,
    callback=_remember_course,
    help="The course folder (course.toml, solutions/, checks/). Default: the course the current folder is in "
         "(it or a folder above holds a course.toml), else the Keras course.")


def _course():
    """The course of this command: its ``--course DIR``, else the default one."""
    from autograder import course

    folder = click.get_current_context().meta.get("autograder.course")
    if folder is not None and not (folder / course.MANIFEST).is_file():
        raise course.CourseError(f"--course {folder}: no {course.MANIFEST} there")
    return course.load(folder)


class _Main(click.Group):
    """The command group that catches the autograder's errors once: one line on stderr, the kind's exit code."""

    def invoke(self, ctx: click.Context):
        try:
            return super().invoke(ctx)
        except AutograderError as exc:
            click.echo(f"autograder: error: {one_line(exc)}", err=True)
            ctx.exit(exit_code(exc))


@click.group(cls=_Main, context_settings={"help_option_names": ["-h", "--help"]},
             epilog="\b\nExit codes:\n" + exit_codes_help())
@click.version_option(package_name="keras-course-autograder")
def main() -> None:
    """Keras course autograder: exercises, sandboxed hidden checks, scores and feedback.

    \b
    Students:     autograder check [TOPIC]
    Instructors:  autograder grade SUBMISSION      (one submission: a folder or a .zip)
                  autograder grade-all FOLDER --out DIR   (a class)
    Authors:      autograder stubs                 (exercises/ from solutions/)
                  autograder new-course DIR        (a minimal course of your own)

    Every verb takes --course DIR: the course folder (default: the course the current folder is in,
    else the Keras course).
    """


@main.command()
@click.option("--check", "check_only", is_flag=True, help="Write nothing; exit 1 if exercises/ differs from what solutions/ gives.")
@course_option
def stubs(check_only: bool) -> None:
    """Generate exercises/ (student stubs: <topic>.py and <topic>.ipynb) from solutions/."""
    from autograder.stubs import generate

    course = _course()
    changed = generate(course.solutions_dir, course.exercises_dir, check=check_only, titles={t.name: t.title for t in course.topics})
    if check_only:
        for path in changed:
            click.echo(f"out of date: {path} (run `autograder stubs`)")
        sys.exit(1 if changed else 0)
    click.echo(f"wrote {len(changed)} stub(s) to {course.exercises_dir}" if changed else "exercises/ is up to date")


@main.command()
@click.argument("topic", required=False)
@click.option("--folder", type=click.Path(file_okay=False, path_type=Path), help="Your work (default: ./exercises, else the course's exercises/).")
@course_option
def check(topic: str | None, folder: Path | None) -> None:
    """Run the public self-checks on your work, with hints (TOPIC: one topic; default all).

    The public checks are a subset: hidden checks decide the grade. Exits 4 when nothing could be
    checked (no such folder, no module of the topic in it).
    """
    from autograder.grading import self_check

    course = _course()
    if topic:
        course.topic(topic)
    result = self_check(topic=topic, folder=folder, course=course, show=False)
    if _not_graded(result):
        sys.exit(4)
    from autograder.results import render_table

    render_table(result, public_only=True)
    _exit_for(result)


def _not_graded(result) -> bool:
    """Nothing of the submission could be read: say why in one line (no table of zeros)."""
    if result.error and not result.checks and not result.incomplete:
        click.echo(f"autograder: error: could not grade {result.submission}: {result.error}", err=True)
        return True
    return False


def _exit_for(result) -> None:
    """Exit non-zero when the grading of ``result`` did not run (4) or is incomplete (3)."""
    from autograder.intake import SubmissionError

    if result.incomplete:
        sys.exit(INCOMPLETE)
    if result.error:  # the table said why (nothing gradable was found)
        sys.exit(exit_code(SubmissionError()))


@main.command()
@click.argument("submission", type=click.Path(path_type=Path))
@click.option("--topic", "topics", multiple=True, help="Grade only this topic (repeatable).")
@click.option("--json", "json_path", type=click.Path(dir_okay=False, path_type=Path), help="Write Gradescope results.json here.")
@click.option("--junit", "junit_path", type=click.Path(dir_okay=False, path_type=Path), help="Write JUnit XML here.")
@click.option("--markdown", "md_path", type=click.Path(dir_okay=False, path_type=Path), help="Write the student's feedback (Markdown) here.")
@click.option("--public-only", is_flag=True, help="Run only the public checks.")
@click.option("--quiet", "-q", is_flag=True, help="Print only the total.")
@course_option
def grade(submission: Path, topics: tuple[str, ...], json_path, junit_path, md_path, public_only: bool, quiet: bool) -> None:
    """Grade one SUBMISSION (a folder, the modules possibly in a nested folder, or a .zip of it)
    with the public and hidden checks, read as grade-all reads it.

    Modules missing from it score zero ("not submitted"). The exit code is 0 whenever grading
    completed, whatever the score; 4 when there was nothing to grade (no such path, no course
    module in it, an unreadable zip); 3 when the grader's own fault left some check ungraded (the
    score is incomplete, grade again); see `autograder --help` for the others.
    """
    from autograder import results as res
    from autograder.grading import grade_submission

    course = _course()
    result = grade_submission(submission, course=course, topics=list(topics) or None, public_only=public_only)
    if json_path:
        _write(json_path, json.dumps(res.to_gradescope_dict(result), indent=2))
    if junit_path:
        _write(junit_path, res.to_junit_xml(result))
    if md_path:
        _write(md_path, res.to_markdown(result))
    if _not_graded(result):
        sys.exit(4)
    if quiet:
        score = f"{result.total:g} / {result.possible:g}"
        click.echo(f"{result.submission}: " + (f"incomplete, {res.GRADER_FAULT} ({score} so far)" if result.incomplete else score))
    else:
        res.render_table(result, public_only=public_only)
    if result.error:
        click.echo(f"note: {result.error}", err=True)
    _exit_for(result)


@main.command()
@course_option
def demo() -> None:
    """Grade the reference solutions and the blank exercises, and show both score tables."""
    from autograder import results as res
    from autograder.grading import grade_submission

    course = _course()
    for label, folder in (("reference solutions", course.solutions_dir), ("blank exercises", course.exercises_dir)):
        click.echo(f"\n=== {label}: {folder} ===")
        res.render_table(grade_submission(folder, course=course, name=label))


@main.command("grade-all")
@click.argument("submissions", type=click.Path(exists=True, file_okay=False, path_type=Path))
@click.option("--out", "-o", required=True, type=click.Path(file_okay=False, path_type=Path), help="Folder for the gradebook, feedback and report (outside SUBMISSIONS).")
@click.option("--jobs", "-j", type=click.IntRange(min=1), help="Submissions graded at once, each job with a warm fork server (default: the number of cores).")
@click.option("--cluster", metavar="ADDRESS", help="Grade on a Dask cluster: a scheduler address (tcp://host:8786) or local:N "
              "(N worker processes on this machine). Needs the 'cluster' extra (dask.distributed).")
@click.option("--force", is_flag=True, help="Grade every submission again, even those already graded with the same files.")
@click.option("--topic", "topics", multiple=True, help="Grade only this topic (repeatable).")
@click.option("--no-progress", is_flag=True, help="No progress bar (logs, CI).")
@click.option("--roster", type=click.Path(exists=True, dir_okay=False, path_type=Path), help="CSV submission,student_id,name,email: who each submission belongs to.")
@click.option("--extensions", type=click.Path(exists=True, dir_okay=False, path_type=Path), help="CSV student,days|due[,reason]: per-student due dates for the late policy.")
@click.option("--overrides", type=click.Path(exists=True, dir_okay=False, path_type=Path), help="CSV student,check,points,reason,who,when: points set by hand, applied after grading.")
@click.option("--lms", type=click.Choice(["canvas", "moodle"]), multiple=True, help="Also write OUT/canvas.csv or OUT/moodle.csv for the LMS's gradebook import (needs --roster; repeatable).")
@click.option("--assignment", default="", help="The assignment column's name in the LMS files (default: the course title).")
@course_option
def grade_all(submissions: Path, out: Path, jobs: int | None, cluster: str | None, force: bool, topics: tuple[str, ...], no_progress: bool,
              roster: Path | None, extensions: Path | None, overrides: Path | None, lms: tuple[str, ...], assignment: str) -> None:
    """Grade a class: every entry of SUBMISSIONS is one submission, named after it.

    \b
    Layouts of SUBMISSIONS (each submission read as `autograder grade` reads it):
      plain       a folder or a .zip of the modules per student
                  (alice/, bob.zip; modules may sit in a nested folder);
                  any other file (notes.txt) gets no row and is named once
      nbgrader    the course folder holding submitted/<student>/<assignment>/
                  (or that submitted/ folder); its .py modules and .ipynb
                  notebooks are graded
      Gradescope  an export folder with submission_metadata.yml: each
                  submission_<id>/ folder is one submission
    The summary counts the submissions twice, each adding up: graded in this
    run + unchanged since an earlier run; scored + nothing gradable (0 points,
    the reason in the error column) + unfinished (the grader failed, not the
    student: run again to grade them).
    \b
    Writes to OUT:
      gradebook.csv                    one row per submission, always
      submissions/<name>/results.json  Gradescope results
      submissions/<name>/feedback.md   feedback to send back to the student
      submissions/<name>/feedback.html the same feedback as a web page
      report.html                      class report with plots, sortable tables
      similarity.csv, similarity.html  pairs of submissions by similarity of their
                                       answer code (never changes a score)
      audit.jsonl                      every change made by --overrides, appended
      canvas.csv, moodle.csv           with --lms, for the LMS's gradebook import
    Each submission is written when it finishes; a rerun skips those already graded
    with the same files (unless --force), so an interrupted run resumes.
    Scores equal `autograder grade` on the same files, locally or on a cluster;
    the gradebook's raw column is that score, then overrides and the late penalty
    ([policy] in course.toml: due, timezone, grace_days, penalty_per_day,
    penalty_cap) give the final one. Submission times: Gradescope metadata, else
    nbgrader's timestamp.txt, else the files' modification time.
    \b
    On a Dask cluster (--cluster): the course goes to every worker once, each
    submission's modules travel as content (no shared file system), each
    worker keeps a warm fork server; this machine writes the results.
    """
    from autograder.batch import grade_all as run_batch
    from autograder.report import check_stats, weakest_table
    from autograder.term import load_inputs

    if jobs and cluster:
        raise click.UsageError("--jobs and --cluster exclude each other (a cluster has as many jobs as Dask worker threads)")
    course = _course()
    try:
        inputs = load_inputs(course=course, roster=roster, extensions=extensions, overrides=overrides, lms=lms, assignment=assignment)
        summary = run_batch(submissions, out, jobs=jobs, cluster=cluster, force=force, topics=list(topics) or None, course=course,
                            progress=not no_progress, term=inputs)
    except KeyboardInterrupt:
        click.echo(f"interrupted: the submissions already written in {out} are kept; run again to finish", err=True)
        sys.exit(INTERRUPTED)
    click.echo(summary.counts())
    if summary.ignored:
        click.echo(f"not submissions, no row ({len(summary.ignored)}): " + "; ".join(summary.ignored))
    stats = check_stats(summary.results)
    if stats:
        click.echo("\nWeakest checks:\n" + weakest_table(stats))
    _term_summary(summary.term)
    click.echo(f"\ngradebook: {summary.gradebook}\nreport:    {summary.report}")
    for name, path in summary.term.files.items():
        click.echo(f"{name + ':':<10} {path}" if len(name) < 10 else f"{name}: {path}")


def _term_summary(term) -> None:
    """Roster matches, overrides, late submissions and the most similar pairs, after a grade-all."""
    if term.inputs.roster is not None:
        click.echo(f"\nSubmissions matching no roster student ({len(term.unmatched)}): {', '.join(term.unmatched) or 'none'}")
        click.echo(f"Roster students without a submission ({len(term.missing)}): {', '.join(s.label for s in term.missing) or 'none'}")
    late = [g for g in term.grades if g.days_late]
    if term.inputs.policy.due is not None:
        shown = "; ".join(f"{term.label(g.submission)}: {g.days_late} d, -{g.penalty:g}" for g in late)
        click.echo(f"Late submissions ({len(late)}): {shown or 'none'}")
    applied = [a for g in term.grades for a in g.overrides]
    if applied or term.not_applied:
        click.echo(f"Overrides applied: {len(applied)}; audit records added: {len(term.audited)}")
    for problem in term.not_applied + term.notes:
        click.echo(f"note: {problem}", err=True)
    failed = [g.submission for g in term.grades if g.grader_failed]
    if failed and term.inputs.lms:
        click.echo(f"Left empty in the LMS files (grading failed, not the student's fault): {', '.join(failed)}")
    top = term.top_pairs(3)
    if top:
        click.echo("Most similar pairs (similarity.html):")
        for p in top:
            click.echo(f"  {p.score:.2f}  {p.topic}: {term.label(p.a)} / {term.label(p.b)}")


@main.command("new-course")
@click.argument("folder", type=click.Path(path_type=Path))
@click.option("--title", help="The course's title (default: from the folder's name).")
def new_course(folder: Path, title: str | None) -> None:
    """Make a minimal course in the new folder FOLDER: course.toml, one topic's solution, a public and
    a hidden check, checks/conftest.py for the course's helpers, and the generated exercises/.

    Then, inside FOLDER, every verb works on it (or pass --course FOLDER).
    """
    from autograder.scaffold import ScaffoldError, new_course as scaffold

    try:
        root = scaffold(folder, title=title)
    except ScaffoldError as exc:
        raise click.ClickException(str(exc)) from exc
    click.echo(f"new course: {root}\nnext: cd {folder} && autograder check && autograder grade solutions")


@main.command()
@click.argument("out", type=click.Path(file_okay=False, path_type=Path))
@click.option("--force", is_flag=True, help="Replace OUT if it holds an earlier release.")
@course_option
def release(out: Path, force: bool) -> None:
    """Build the student release in the new folder OUT.

    Exercises (generated from solutions/), public checks, data sets, the package and a student
    README; no solutions, hidden checks or secret seeds. The bundle is scanned for every solution
    and hidden-check line before this command reports success.
    """
    from autograder.release import ReleaseError, build_release, find_leaks, secret_lines

    course = _course()
    folder = build_release(out, course=course, force=force)
    secrets = secret_lines(course)
    leaks = find_leaks(folder, course, secrets=secrets)
    if leaks:
        raise ReleaseError(f"the release in {folder} holds grader-only lines; not usable: " + "; ".join(leaks[:20]))
    click.echo(f"student release: {folder} (scanned for {len(secrets)} grader-only lines: none found)")


@main.command()
@click.argument("out", type=click.Path(file_okay=False, path_type=Path))
@click.option("--assignment", default="course", show_default=True, help="nbgrader assignment name (source/<assignment>/).")
@click.option("--topic", "topics", multiple=True, help="Export only this topic (repeatable).")
@click.option("--force", is_flag=True, help="Overwrite notebooks already in source/<assignment>/.")
@course_option
def nbgrader(out: Path, assignment: str, topics: tuple[str, ...], force: bool) -> None:
    """Write an nbgrader course directory in OUT: nbgrader_config.py and source/<assignment>/<topic>.ipynb.

    Then, in OUT: nbgrader generate_assignment ASSIGNMENT; collect submissions into
    submitted/<student>/ASSIGNMENT/; nbgrader autograde ASSIGNMENT; nbgrader export.
    """
    try:
        from autograder.nbgrader_export import export
    except ImportError as exc:  # a student release leaves the exporter out
        raise click.ClickException(f"the nbgrader export is not part of this copy of the course ({exc})") from exc
    course = _course()
    folder = export(out, course=course, assignment=assignment, topics=list(topics) or None, force=force)
    click.echo(f"nbgrader course: {folder}\nnext: cd {folder} && nbgrader generate_assignment {assignment}")


@main.command()
@click.option("--topic", "topics", multiple=True, help="Calibrate only this topic (repeatable); default every topic with an accuracy_bar.")
@click.option("--seeds", default=5, show_default=True, type=click.IntRange(2, 100), help="Reference training runs per topic (seeds 0, 1, ...).")
@click.option("--quantile", default=0.05, show_default=True, type=click.FloatRange(0, 1), help="Quantile of the reference's accuracies the bar starts from.")
@click.option("--noise", default=2.0, show_default=True, type=click.FloatRange(0), help="Standard deviations of the reference's accuracy the bar stays below that quantile.")
@click.option("--budget-factor", default=4.0, show_default=True, type=click.FloatRange(1), help="train_budget = this times the slowest reference training, rounded up to 5 s.")
@click.option("--write", is_flag=True, help="Record the numbers in course.toml (only the calibrated keys change).")
@course_option
def calibrate(topics: tuple[str, ...], seeds: int, quantile: float, noise: float, budget_factor: float, write: bool) -> None:
    """Train the reference of each training topic over several seeds, measure the trivial baselines,
    and propose accuracy bars, floors (partial credit starts there) and training budgets.

    Prints the TOML; --write records it in course.toml.
    """
    from autograder import calibrate as cal
    from autograder.course import MANIFEST
    from autograder.quiet import quiet_tensorflow

    quiet_tensorflow()
    course = _course()
    found = cal.calibrate(course, list(topics) or None, seeds=seeds, quantile=quantile, noise=noise,
                          budget_factor=budget_factor, log=lambda line: click.echo(line, err=True))
    for c in found:
        click.echo(f"# {c.topic}: reference accuracy {min(c.accuracies):.4f}-{max(c.accuracies):.4f}, "
                   f"{max(c.seconds):.1f} s at most; baselines " + ", ".join(f"{k} {v:.3f}" for k, v in c.baselines.items())
                   + f"; highest bar outside the noise {c.highest_bar:g}, least budget {c.least_budget:g} s")
    click.echo(cal.to_toml(found), nl=False)
    if write:
        cal.write_manifest(course.root / MANIFEST, found)
        click.echo(f"recorded in {course.root / MANIFEST}")


@main.command()
@click.argument("out", type=click.Path(dir_okay=False, path_type=Path))
@click.option("--topic", "topics", multiple=True, help="Grade only this topic (repeatable); default all.")
@course_option
def gradescope(out: Path, topics: tuple[str, ...]) -> None:
    """Write the Gradescope autograder zip OUT (setup.sh, run_autograder, pinned requirements, course)."""
    from autograder.gradescope import build_bundle

    course = _course()
    path = build_bundle(out, course=course, topics=list(topics) or None)
    click.echo(f"Gradescope bundle: {path} (upload it under Configure Autograder; see docs/instructors.md)")


if __name__ == "__main__":  # pragma: no cover
    main()
