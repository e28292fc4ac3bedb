"""The pages people open, in a real browser: report.html, similarity.html and a student's feedback.

Each page is opened in headless Chromium (Debian's ``chromium`` and ``chromium-driver``, driven by
Selenium with the driver's path given, so Selenium Manager never tries to download anything). The
test checks that the page renders, that its plots load (``naturalWidth > 0``), that its tables sort
when a heading is clicked and its code panes scroll, that no student text became markup, and that
the browser console shows no error. Without a browser the tests are skipped with the reason.

The pages are made from results built here, not graded (grading has its own tests), by the same
functions ``grade-all`` uses: :func:`autograder.term.finish` and :func:`autograder.report.class_report`.
"""

from __future__ import annotations

import os
import shutil
from pathlib import Path
from types import SimpleNamespace

import pytest

from autograder import course as course_mod
from autograder.batch import discover
from autograder.report import class_report
from autograder.results import CheckResult, SubmissionResult, declare_topics
from autograder.term import finish, load_inputs
from autograder.term.roster import Roster, Student

REPO = Path(__file__).resolve().parents[1]
CHROMIUM = os.environ.get("AUTOGRADER_CHROMIUM") or shutil.which("chromium") or "/usr/bin/chromium"
CHROMEDRIVER = os.environ.get("AUTOGRADER_CHROMEDRIVER") or shutil.which("chromedriver") or "/usr/bin/chromedriver"
EVIL = "<script>window.__pwned = 1</script><img src=x onerror=\"window.__pwned = 2\">"


def _why_no_browser() -> str:
    try:
        import selenium  # noqa: F401
    except ImportError:
        return "selenium is not installed (pip install -e '.[test]')"
    for path, what in ((CHROMIUM, "chromium"), (CHROMEDRIVER, "chromium-driver")):
        if not os.access(path, os.X_OK):
            return f"no {what} at {path} (apt-get install chromium chromium-driver)"
    return ""


@pytest.fixture(scope="module")
def browser():
    why = _why_no_browser()
    if why:
        pytest.skip(why)
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    os.environ.setdefault("SE_OFFLINE", "true")  # Selenium Manager: never reach the network
    options = webdriver.ChromeOptions()
    options.binary_location = CHROMIUM
    for arg in ("--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage", "--window-size=1280,1000"):
        options.add_argument(arg)
    options.set_capability("goog:loggingPrefs", {"browser": "ALL"})
    try:
        driver = webdriver.Chrome(service=Service(executable_path=CHROMEDRIVER), options=options)
    except Exception as exc:  # noqa: BLE001 - a browser that can't start here is a skip with its reason
        pytest.skip(f"chromium did not start: {type(exc).__name__}: {str(exc).splitlines()[0] if str(exc) else ''}")
    yield driver
    driver.quit()


def _module(body: str) -> str:
    stub = (REPO / "exercises" / "neurons.py").read_text(encoding="utf-8")
    return stub.replace("    raise NotImplementedError('TODO: sum over consecutive pairs of layers: one weight per connection, one bias per neuron')",
                        body, 1)


@pytest.fixture(scope="module")
def pages(tmp_path_factory):
    """report.html, similarity.html and a feedback.html made from a small class with a copy."""
    base = tmp_path_factory.mktemp("pages")
    root, out = base / "class", base / "out"
    bodies = {
        "ada": "    total = 0\n    for i in range(len(layer_sizes) - 1):\n        total += layer_sizes[i] * layer_sizes[i + 1] + layer_sizes[i + 1]\n"
               + "".join(f"        total += 0 * {j}  # step {j}\n" for j in range(60)) + "    return total",
        "bob": "    n = 0\n    for k in range(len(layer_sizes) - 1):\n        n += layer_sizes[k] * layer_sizes[k + 1] + layer_sizes[k + 1]\n"
               + "".join(f"        n += 0 * {j}\n" for j in range(60)) + "    return n",
        "cy": f"    # {EVIL}\n    return int(sum(a * b + b for a, b in zip(layer_sizes, layer_sizes[1:])))",
        EVIL.replace("/", "_")[:40]: "    return -1",
    }
    for name, body in bodies.items():
        (root / name).mkdir(parents=True)
        (root / name / "neurons.py").write_text(_module(body), encoding="utf-8")
    course = course_mod.load(REPO)
    declared = [t for t in declare_topics(course.topics) if t.name == "neurons"]
    entries = discover(root)
    results = []
    for i, e in enumerate(entries):
        checks = [CheckResult(id=f"neurons::test_{j}", topic="neurons", name=f"check {j} {EVIL}", max_points=1,
                              status="passed" if (i + j) % 3 else "failed", duration=0.01 * j, feedback=f"got {EVIL}", hint="look again")
                  for j in range(10)]
        results.append(SubmissionResult(e.name, checks=checks, topics=declared))
    inputs = load_inputs(course=course)
    inputs.roster = Roster([Student("1", "Ada", "ada@x", "ada"), Student("2", "Bob", "bob@x", "bob"), Student("3", "Dee", "dee@x")])
    summary = SimpleNamespace(entries=entries, results=results, out=out, topics=["neurons"])
    report = finish(summary, course, inputs)
    (out / "report.html").write_text(class_report(results, title=f"Class {EVIL}", topics=declared, sections=report.report_sections()))
    ada = next(g for g in report.grades if g.submission == "ada")
    return {"report": out / "report.html", "similarity": out / "similarity.html",
            "feedback": out / "submissions" / ada.slug / "feedback.html", "report_obj": report}


def _open(browser, path: Path) -> None:
    browser.get_log("browser")  # drop what earlier pages logged
    browser.get(path.resolve().as_uri())
    assert browser.execute_script("return document.readyState") == "complete"


def _errors(browser) -> list[str]:
    return [f"{e['level']}: {e['message']}" for e in browser.get_log("browser") if e["level"] in ("SEVERE", "ERROR")]


def _images(browser) -> list[tuple[str, int, bool]]:
    return browser.execute_script(
        "return Array.from(document.images).map(i => [i.alt, i.naturalWidth, i.complete]);")


def _column(browser, table: str, col: int) -> list[str]:
    return browser.execute_script(
        f"return Array.from(document.querySelector('{table}').rows).slice(1).map(r => r.cells[{col}].textContent.trim());")


def _click_heading(browser, table: str, text: str) -> None:
    from selenium.webdriver.common.by import By

    th = next(h for h in browser.find_elements(By.CSS_SELECTOR, f"{table} tr:first-child th") if h.text.strip() == text)
    browser.execute_script("arguments[0].scrollIntoView()", th)
    th.click()


def _nothing_injected(browser) -> None:
    assert browser.execute_script("return window.__pwned === undefined")
    assert browser.execute_script("return document.querySelectorAll('img[src=x]').length") == 0


def test_console_errors_are_seen(browser, tmp_path):
    """The console check can fail: a page with a script error is caught."""
    bad = tmp_path / "bad.html"
    bad.write_text("<!DOCTYPE html><html><head><link rel='icon' href='data:,'></head><body><script>undefined_function()</script></body></html>")
    _open(browser, bad)
    assert any("undefined_function" in e for e in _errors(browser))


def test_report_renders_plots_load_tables_sort(browser, pages):
    _open(browser, pages["report"])
    assert browser.title.startswith("Class <script>")  # the title shown as text
    images = _images(browser)
    assert len(images) == 3 and all(w > 0 and done for _, w, done in images), images
    finals = [float(x) for x in _column(browser, "#grades", 7)]
    _click_heading(browser, "#grades", "final")
    assert [float(x) for x in _column(browser, "#grades", 7)] == sorted(finals)
    _click_heading(browser, "#grades", "final")
    assert [float(x) for x in _column(browser, "#grades", 7)] == sorted(finals, reverse=True)
    _click_heading(browser, "#grades", "submission")
    names = _column(browser, "#grades", 0)
    assert names == sorted(names, key=str.lower)
    assert "Dee (3)" in browser.find_element("id", "missing").text
    _nothing_injected(browser)
    assert _errors(browser) == []


def test_similarity_page_plot_sorting_and_scrolling_panes(browser, pages):
    _open(browser, pages["similarity"])
    images = _images(browser)
    assert len(images) == 1 and images[0][1] > 0 and images[0][2]
    scores = [float(x) for x in _column(browser, "#pairs", 3)]
    assert scores and scores == sorted(scores, reverse=True)  # highest first as written
    _click_heading(browser, "#pairs", "score")
    assert [float(x) for x in _column(browser, "#pairs", 3)] == sorted(scores)
    top = pages["report_obj"].top_pairs(1)[0]
    assert {top.a, top.b} == {"ada", "bob"}  # the copy with renamed variables
    panes = browser.execute_script(
        "return Array.from(document.querySelectorAll('#pair-1 pre.code')).map(p => [p.scrollHeight, p.clientHeight]);")
    assert len(panes) == 2 and all(sh > ch > 0 for sh, ch in panes), panes  # long code scrolls inside its pane
    opened = browser.execute_script("return Array.from(document.querySelectorAll('#pair-1 pre.code')).map(p => p.scrollTop);")
    assert all(top > 0 for top in opened), opened  # each pane opens at the first shared line, below the stub's docstring
    moved = browser.execute_script("const p = document.querySelector('#pair-1 pre.code'); p.scrollTop = 0; return p.scrollTop;")
    assert moved == 0
    assert browser.execute_script("return document.querySelectorAll('#pair-1 mark').length") > 10  # shared lines marked
    assert EVIL in browser.find_element("tag name", "body").text or "cy" not in pages["report_obj"].sources
    _nothing_injected(browser)
    assert _errors(browser) == []


def test_student_feedback_page(browser, pages):
    _open(browser, pages["feedback"])
    assert browser.find_element("tag name", "h1").text == "Feedback for ada"
    assert "Score:" in browser.find_element("tag name", "body").text
    rows = browser.execute_script("return document.querySelectorAll('table tr').length")
    assert rows > 10
    assert browser.execute_script("return document.scripts.length") == 0  # the student's page runs nothing
    assert f"check 1 {EVIL}" in browser.find_element("tag name", "body").text
    _nothing_injected(browser)
    assert _errors(browser) == []
