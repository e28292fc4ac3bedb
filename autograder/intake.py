"""One intake for submissions: what every route grades of a folder, a nested folder, a zip, a notebook.

``autograder grade``, ``autograder check``, ``grade-all`` (local and ``--cluster``), Gradescope's
``run_autograder`` and nbgrader's ``submitted/`` layout all read a submission here, so they accept
the same things and score them the same:

- :func:`read` turns one submission (a folder, a ``.zip``, or an :class:`Entry` of a class folder)
  into a :class:`Submission`: the module sources to send to the sandbox, and notes naming, once,
  what could not be used (a file too large, a bad encoding, a notebook that is not one).
  :class:`SubmissionError` means nothing of it can be read (no such path, a stray file, a corrupt
  zip, modules in two folders at the same depth); one without any course module is still graded
  (every check "not submitted") and its result's ``error`` says so (:func:`nothing_found`), which
  makes ``grade`` and ``check`` exit non-zero.
- In a folder or a zip the course modules may sit in nested folders (``frank/Downloads/exercises/``):
  the shallowest folder holding course modules is graded (:func:`_module_dir`). Symbolic links are
  never followed; zips are checked before they are parsed (end-of-central-directory entry count and
  size, member count, zip slip, size caps) and nothing of them is ever written to disk.
- ``<topic>.py`` is decoded as its first lines declare (PEP 263, :func:`tokenize.detect_encoding`),
  UTF-8 by default; ``<topic>.ipynb`` gives its definitions (:mod:`autograder.notebooks`).
- :func:`discover` lists the submissions of a class folder (plain, nbgrader, Gradescope export);
  a stray file there is not a submission: it is listed in ``ignored`` with the reason.

>>> _slug("Ada Lovelace/../hw1")
'Ada_Lovelace_.._hw1'
>>> _slug("..")
'submission'
"""

from __future__ import annotations

import hashlib
import io
import os
import re
import stat
import struct
import tokenize
import zipfile
import zlib
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath
from typing import Callable, Iterable

from autograder import notebooks
from autograder.errors import AutograderError

__all__ = ["Entry", "Submission", "SubmissionError", "decode_module", "discover", "from_files", "kind_of", "module_files",
           "module_folder", "nothing_found", "read", "read_files", "source_hash"]

MAX_FILE_BYTES = 1 * 2**20
#: Notebooks keep their outputs (plots), so they may be larger; only their code is graded.
MAX_NOTEBOOK_BYTES = 32 * 2**20
ZIP_MAX_BYTES = 256 * 2**20  # a zip larger than this is not opened
ZIP_MAX_MEMBERS = 10_000
ZIP_MAX_DIRECTORY = 4 * 2**20  # bytes of central directory (what zipfile parses, whatever the count says)
MAX_MODULE_FILES = 200  # course modules taken from one entry (zip members or files found in a folder)
MAX_DEPTH = 4  # how deep a folder or zip may nest its modules
MAX_WALK = 5_000  # directory entries looked at per folder submission
IGNORED = ("__MACOSX", "__pycache__")


class SubmissionError(AutograderError, ValueError):
    """The submission can't be read at all (its row still gets a zero and this reason)."""


# --------------------------------------------------------------------------------------------------
# Finding the submissions
# --------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Entry:
    """One submission of the class: its gradebook name, where it is, and what it is.

    ``kind`` is ``folder`` or ``zip`` (``unsupported``: a file that is neither, which :func:`read`
    refuses; :func:`discover` lists those in ``ignored`` instead); ``slug`` is its folder under ``OUT/submissions`` (the name made safe for a file system).
    """

    name: str
    source: Path
    kind: str
    slug: str


def _hidden(name: str) -> bool:
    return name.startswith(".") or name in IGNORED


def _clean_name(name: str) -> str:
    """A gradebook name: control characters shown as ``?`` (the CSV writer neutralises formulas)."""
    return "".join("?" if ord(ch) < 32 or ord(ch) == 127 else ch for ch in name) or "submission"


def _slug(name: str) -> str:
    """A name usable as one folder name: no separators, no leading dot, at most 100 characters."""
    slug = re.sub(r"[^\w.@+-]", "_", name).lstrip(".")[:100]
    return slug or "submission"


def _unique(entries: list[tuple[str, Path, str]]) -> list[Entry]:
    """Entries with unique names (a clash keeps the file name, then numbers) and unique slugs."""
    out, names, slugs = [], set(), set()
    for name, source, kind in entries:
        name = _clean_name(name)
        if name in names:
            name = _clean_name(source.name)
        base, n = name, 2
        while name in names:
            name, n = f"{base}-{n}", n + 1
        slug, n = _slug(name), 2
        while slug.lower() in slugs:
            slug, n = f"{_slug(name)}-{n}", n + 1
        names.add(name)
        slugs.add(slug.lower())
        out.append(Entry(name, source, kind, slug))
    return out


def _classify(path: Path) -> tuple[str, Path, str]:
    if path.is_dir():
        return path.name, path, "folder"
    if path.suffix.lower() == ".zip" and path.is_file():
        return path.name[: -len(".zip")], path, "zip"
    return path.name, path, "unsupported"


def discover(root: str | Path, ignored: list[str] | None = None) -> list[Entry]:
    """The submissions in a class folder, sorted by name. Layouts, recognised in this order:

    - **nbgrader**: ``root`` holds ``submitted/<student>/<assignment>/`` (the nbgrader course
      folder), or ``root`` is that ``submitted`` folder and its student folders hold only
      assignment folders. Each ``<student>/<assignment>`` is a submission named ``<student>``
      (``<student>-<assignment>`` when the class has more than one assignment); a student
      folder without any assignment folder is a submission too. The ``.py`` modules of the
      assignment folder are graded, and its ``<topic>.ipynb`` notebooks (see :mod:`autograder.notebooks`).
    - **Gradescope export**: ``root`` holds ``submission_metadata.yml``; each
      ``submission_<id>/`` folder is a submission named after its folder.
    - **plain**: every entry is a submission: a folder of modules or a ``.zip`` of them, named
      after the entry (``alice.zip`` -> ``alice``). In a folder or zip the modules may sit in
      nested folders (the shallowest folder holding course modules is graded). Any other file
      (``notes.txt``) is not a submission and gets no row: it is named, with the reason, in
      ``ignored`` (which ``grade-all`` prints), so that it is not silently dropped.

    Names starting with ``.`` and ``__MACOSX`` are ignored everywhere.
    """
    root = Path(root)
    if not root.is_dir():
        from autograder.batch import BatchError

        raise BatchError(f"{root} is not a folder")
    layout = _nbgrader_base(root)
    if layout is not None:
        found = []
        for student in _children(layout):
            if student.is_dir():
                # a student folder without assignment folders still gets its row (nothing submitted)
                found += [(student.name, a) for a in _children(student) if a.is_dir()] or [(student.name, student)]
        several = len({a.name for s, a in found if a.name != s}) > 1
        raw = [(f"{s}-{a.name}" if several and a.name != s else s, a, "folder") for s, a in found]
    elif (root / "submission_metadata.yml").is_file():
        raw = [_classify(p) for p in _children(root) if p.name != "submission_metadata.yml"]
    else:
        raw = [_classify(p) for p in _children(root)]
    for name, path, kind in raw:
        if kind == "unsupported" and ignored is not None:
            ignored.append(f"{_clean_name(path.name)}: not a folder or a .zip of a submission")
    raw = [r for r in raw if r[2] != "unsupported"]
    return _unique(sorted(raw, key=lambda r: (r[0].lower(), r[0], str(r[1]))))


def _children(folder: Path) -> list[Path]:
    try:
        return sorted(p for p in folder.iterdir() if not _hidden(p.name))
    except OSError as exc:
        from autograder.batch import BatchError

        raise BatchError(f"cannot list {folder}: {exc}") from exc


def _nbgrader_base(root: Path) -> Path | None:
    if (root / "submitted").is_dir():
        return root / "submitted"
    if root.name == "submitted":
        students = [p for p in _children(root) if p.is_dir()]
        if students and all(not any(c.is_file() for c in _children(s)) for s in students):
            return root
    return None


# --------------------------------------------------------------------------------------------------
# Reading one submission: a folder or a zip, safely, as bytes
# --------------------------------------------------------------------------------------------------


def _module_dir(paths: Iterable[PurePosixPath], modules: set[str], what: str) -> PurePosixPath | None:
    """The shallowest folder holding course modules (``None`` when there are none)."""
    dirs = {p.parent for p in paths if p.name in modules}
    if not dirs:
        return None
    depth = min(len(d.parts) for d in dirs)
    top = sorted(d for d in dirs if len(d.parts) == depth)
    if len(top) > 1:
        shown = ", ".join(str(d) or "." for d in top[:4])
        raise SubmissionError(f"{what} has course modules in several folders ({shown}); put them in one folder")
    return top[0]


def _walk_modules(folder: Path, modules: set[str]) -> list[PurePosixPath]:
    """Relative paths of the regular files named like a course module, up to MAX_DEPTH deep.

    Symbolic links are not followed (a submission can't pull in someone else's files).
    """
    found, seen, stack = [], 0, [(folder, PurePosixPath())]
    while stack:
        here, rel = stack.pop()
        try:
            items = sorted(os.scandir(here), key=lambda e: e.name)
        except OSError:
            continue
        for item in items:
            seen += 1
            if seen > MAX_WALK:
                raise SubmissionError(f"the folder holds more than {MAX_WALK} files; submit only the course modules")
            if _hidden(item.name) or item.is_symlink():
                continue
            if item.is_dir(follow_symlinks=False):
                if len(rel.parts) < MAX_DEPTH:
                    stack.append((Path(item.path), rel / item.name))
            elif item.name in modules and item.is_file(follow_symlinks=False):
                found.append(rel / item.name)
                if len(found) > MAX_MODULE_FILES:
                    raise SubmissionError(f"more than {MAX_MODULE_FILES} course modules found")
    return found


def _read_capped(stream, limit: int | None = None) -> bytes:
    """At most ``limit`` bytes (by default the limit of a ``.py``, or of a notebook, plus one): enough for
    grade_submission to see that a file is too large."""
    if limit is None:
        notebook = str(getattr(stream, "name", "")).endswith(".ipynb")
        limit = (MAX_NOTEBOOK_BYTES if notebook else MAX_FILE_BYTES) + 1
    return stream.read(limit)


def _zip_modules(path: Path, modules: set[str]) -> dict[PurePosixPath, bytes]:
    """The course modules inside a zip, by safe relative path; :class:`SubmissionError` if unreadable.

    Only regular members named like a course module are read, each at most ``MAX_FILE_BYTES + 1``
    bytes however large the header says it is (a zip bomb stops there). Absolute paths, ``..``
    and symbolic links are skipped (zip slip), and nothing is ever written outside the target.
    """
    try:
        size = path.stat().st_size
        if size > ZIP_MAX_BYTES:
            raise SubmissionError(f"the zip is larger than {ZIP_MAX_BYTES // 2**20} MiB")
        _check_zip_directory(path)
        with zipfile.ZipFile(path) as zf:
            members = zf.infolist()
            if len(members) > ZIP_MAX_MEMBERS:
                raise SubmissionError(f"the zip holds more than {ZIP_MAX_MEMBERS} files")
            out: dict[PurePosixPath, bytes] = {}
            for info in members:
                rel = _safe_member(info)
                if rel is None or rel.name not in modules or len(rel.parts) > MAX_DEPTH + 1:
                    continue
                if len(out) >= MAX_MODULE_FILES:
                    raise SubmissionError(f"the zip holds more than {MAX_MODULE_FILES} course modules")
                with zf.open(info) as member:
                    out[rel] = _read_capped(member)
            return out
    except SubmissionError:
        raise
    except (zipfile.BadZipFile, zipfile.LargeZipFile, zlib.error, EOFError, OSError, NotImplementedError, RuntimeError, ValueError) as exc:
        raise SubmissionError(f"the zip file can't be read ({type(exc).__name__}: {exc})") from exc


_EOCD = struct.Struct("<4s4H2LH")  # end of central directory record
_ZIP64_LOCATOR = struct.Struct("<4sLQL")
_ZIP64_EOCD = struct.Struct("<4sQ2H2L4Q")


def _check_zip_directory(path: Path) -> None:
    """Refuse a zip whose end-of-central-directory record announces too many entries or too large a
    directory, reading only the file's tail (before ``zipfile`` parses the directory at all)."""
    with open(path, "rb") as f:
        f.seek(0, os.SEEK_END)
        size = f.tell()
        tail_at = max(0, size - (_EOCD.size + 65535 + _ZIP64_LOCATOR.size))
        f.seek(tail_at)
        tail = f.read()
        at = tail.rfind(b"PK\x05\x06")
        if at < 0 or at + _EOCD.size > len(tail):
            raise SubmissionError("the zip file can't be read (no end of central directory record)")
        _sig, _disk, _cd_disk, _disk_entries, entries, cd_size, _cd_at, _comment = _EOCD.unpack_from(tail, at)
        if (entries == 0xFFFF or cd_size == 0xFFFFFFFF) and at >= _ZIP64_LOCATOR.size:
            sig, _d, eocd64_at, _n = _ZIP64_LOCATOR.unpack_from(tail, at - _ZIP64_LOCATOR.size)
            if sig == b"PK\x06\x07" and 0 <= eocd64_at <= size - _ZIP64_EOCD.size:
                f.seek(eocd64_at)
                record = f.read(_ZIP64_EOCD.size)
                if record[:4] == b"PK\x06\x06":
                    fields = _ZIP64_EOCD.unpack(record)
                    entries, cd_size = fields[7], fields[8]
    if entries > ZIP_MAX_MEMBERS:
        raise SubmissionError(f"the zip holds more than {ZIP_MAX_MEMBERS} files ({entries} announced)")
    if cd_size > ZIP_MAX_DIRECTORY:
        raise SubmissionError(f"the zip's directory is larger than {ZIP_MAX_DIRECTORY // 2**20} MiB")


def _safe_member(info: zipfile.ZipInfo) -> PurePosixPath | None:
    """The member's relative path, or ``None`` for a folder, a link or a path leaving the archive."""
    if info.is_dir() or stat.S_ISLNK(info.external_attr >> 16):
        return None
    name = info.filename.replace("\\", "/")
    rel = PurePosixPath(name)
    if rel.is_absolute() or re.match(r"^[A-Za-z]:", name) or any(p in ("..", "") for p in rel.parts[:-1]):
        return None
    parts = [p for p in rel.parts if p != "."]
    if not parts or any(_hidden(p) for p in parts):
        return None
    return PurePosixPath(*parts)


def module_files(topics: Iterable[str]) -> set[str]:
    """The file names a topic may have in a submission: ``<topic>.py`` and ``<topic>.ipynb``."""
    return {f"{t}.{kind}" for t in topics for kind in ("py", "ipynb")}


def module_folder(folder: str | Path, topics: Iterable[str]) -> Path:
    """The folder below ``folder`` whose modules are graded (the shallowest holding one; else ``folder``)."""
    folder, names = Path(folder), module_files(topics)
    top = _module_dir(_walk_modules(folder, names), names, "the folder")
    return folder.joinpath(*top.parts) if top is not None else folder


def kind_of(path: Path) -> str:
    """``folder``, ``zip`` or ``unsupported``: what :func:`read_files` makes of ``path``."""
    return _classify(path)[2]


def read_files(source: str | Path | Entry, topics: Iterable[str]) -> dict[str, bytes]:
    """The bytes of a submission's course modules (``<topic>.py`` or ``<topic>.ipynb``), by file name.

    ``source`` is a folder, a ``.zip`` or an :class:`Entry` of a class folder. A zip is read with
    :func:`_zip_modules`; a folder gives its regular files (no symbolic links). Either way the
    shallowest folder holding course modules is the one graded. Raises :class:`SubmissionError`
    when the submission can't be read (no such path, a file that is neither); one without modules
    gives ``{}`` (every topic "not submitted").
    """
    path, kind = (source.source, source.kind) if isinstance(source, Entry) else (Path(source), None)
    if kind is None:
        if not path.exists():
            raise SubmissionError(f"{path} does not exist")
        kind = kind_of(path)
    names = module_files(topics)
    if kind == "unsupported":
        raise SubmissionError(f"{path.name} is not a folder or a .zip of Python modules or notebooks")
    if kind == "zip":
        files = _zip_modules(path, names)
        what = "the zip"
    else:
        found = _walk_modules(path, names)
        files = {}
        for rel in found:
            try:
                with open(path.joinpath(*rel.parts), "rb") as f:
                    files[rel] = _read_capped(f)
            except OSError as exc:
                raise SubmissionError(f"{rel} can't be read: {exc}") from exc
        what = "the folder"
    top = _module_dir(files, names, what)
    return {rel.name: data for rel, data in sorted(files.items()) if top is not None and rel.parent == top}


# --------------------------------------------------------------------------------------------------
# Decoding: module files (bytes) into the sources the sandbox imports
# --------------------------------------------------------------------------------------------------


@dataclass
class Submission:
    """What is graded of one submission.

    ``files``: ``<topic>.py`` -> the source sent to the sandbox (a notebook's definitions, a module
    decoded as it declares). ``unusable``: topic -> why its file could not be used (that topic is
    then graded as not submitted). ``notes``: what the student and the instructor are told, each
    thing once (which file was graded when there was a choice, cells left out, unusable files).
    """

    files: dict[str, str] = field(default_factory=dict)
    unusable: dict[str, str] = field(default_factory=dict)
    notes: list[str] = field(default_factory=list)

    @property
    def empty(self) -> bool:
        """Nothing gradable found: no course module at all, usable or not."""
        return not self.files and not self.unusable


_COOKIE = re.compile(rb"^([ \t\f]*#.*?coding[:=][ \t]*)([-\w.]+)")


def decode_module(data: bytes, filename: str) -> str:
    """The text of a ``.py`` file, decoded as its first lines declare (PEP 263; UTF-8 by default).

    A declared encoding other than UTF-8 is rewritten to ``utf-8`` on its own line (the sandbox
    stores the text as UTF-8; line numbers don't move). :class:`SubmissionError` names the problem.
    """
    try:
        encoding, _ = tokenize.detect_encoding(io.BytesIO(data).readline)
    except SyntaxError as exc:  # an unknown encoding, a declaration contradicting a BOM, or non-UTF-8 first lines
        if "unknown encoding" in str(exc) or "encoding problem" in str(exc):
            raise SubmissionError(f"{filename}: {exc}") from None
        encoding = "utf-8"
    try:
        text = data.decode(encoding)
    except UnicodeDecodeError as exc:
        line = data[: exc.start].count(b"\n") + 1
        byte = f"byte 0x{data[exc.start]:02x} on line {line}"
        if encoding.startswith("utf-8"):
            raise SubmissionError(f"{filename} is not UTF-8 text ({byte}); save it as UTF-8, or declare its encoding "
                                  "on its first line (# -*- coding: latin-1 -*-)") from None
        raise SubmissionError(f"{filename} is not {encoding} text as it declares ({byte})") from None
    if encoding.startswith("utf-8"):
        return text
    lines = data.split(b"\n", 2)
    for i, line in enumerate(lines[:2]):
        if _COOKIE.match(line):
            head = [_COOKIE.sub(rb"\1utf-8", line, count=1) if j == i else l for j, l in enumerate(lines[:2])]
            return b"\n".join(head).decode(encoding) + ("\n" + lines[2].decode(encoding) if len(lines) > 2 else "")
    return text


def from_files(raw: dict[str, bytes], topics: Iterable[str], *, stub: Callable[[str], str | None] | None = None) -> Submission:
    """The :class:`Submission` of module files read by :func:`read_files` (or sent by a client).

    A topic is ``<topic>.py`` or ``<topic>.ipynb`` (its definitions, see :mod:`autograder.notebooks`);
    when both are there :func:`autograder.notebooks.choose` picks one (``stub(topic)`` gives the
    released stub) and a note says which. A file that can't be used (too large, a bad encoding,
    not a notebook) is named once in the notes, and its topic is graded as not submitted.
    """
    out = Submission()
    for name in topics:
        texts: dict[str, str | bytes] = {}
        problem = ""
        for kind, limit in (("py", MAX_FILE_BYTES), ("ipynb", MAX_NOTEBOOK_BYTES)):
            fname = f"{name}.{kind}"
            data = raw.get(fname)
            if data is None:
                continue
            if len(data) > limit:
                problem = f"{fname} is larger than {limit // 2**20} MiB"
                continue
            try:
                texts[kind] = decode_module(data, fname) if kind == "py" else data
            except SubmissionError as exc:
                problem = str(exc)
        if not texts:
            if problem:
                out.unusable[name] = problem
            continue
        kind, note = notebooks.choose(name, texts.get("py"), texts.get("ipynb"), stub(name) if stub and len(texts) == 2 else None)
        if note:
            out.notes.append(note)
        if kind == "py":
            out.files[f"{name}.py"] = texts["py"]
            continue
        try:
            extracted = notebooks.notebook_to_module(texts["ipynb"], f"{name}.ipynb")
        except notebooks.NotebookError as exc:
            out.unusable[name] = str(exc)
            continue
        out.files[f"{name}.py"] = extracted.source
        out.notes += extracted.notes
    out.notes += [f"{name}: {why}; graded as not submitted" for name, why in out.unusable.items()]
    return out


def read(source: str | Path | Entry, topics: Iterable[str], *, stub: Callable[[str], str | None] | None = None,
         locate: Iterable[str] | None = None) -> Submission:
    """One submission (a folder, a nested folder, a ``.zip``, an :class:`Entry`) as it is graded.

    The folder graded is found by the modules of ``locate`` (default ``topics``; the graders pass
    every topic of the course, so grading one topic finds the same folder as grading them all).
    :class:`SubmissionError` when nothing of it can be read; see :func:`read_files` and :func:`from_files`.
    """
    topics = list(topics)
    return from_files(read_files(source, topics if locate is None else locate), topics, stub=stub)


def nothing_found(source: str | Path | Entry, topics: Iterable[str]) -> str:
    """The reason given when a submission holds no course module of ``topics``."""
    where = source.source if isinstance(source, Entry) else Path(source)
    topics = list(topics)
    shown = ", ".join(f"{t}.py" for t in topics[:3]) + (", ..." if len(topics) > 3 else "")
    return f"nothing to grade: {where.name or where} holds no course module ({shown}, or the same as .ipynb notebooks)"


def source_hash(entry: Entry, modules: Iterable[str]) -> str:
    """sha256 of what is graded: the bytes of a zip, or the course modules found in a folder."""
    h = hashlib.sha256(entry.kind.encode())
    if entry.kind == "zip":
        try:
            with open(entry.source, "rb") as f:
                for chunk in iter(lambda: f.read(1 << 20), b""):
                    h.update(chunk)
        except OSError as exc:
            h.update(f"unreadable: {exc}".encode())
    elif entry.kind == "folder":
        try:
            for rel in sorted(_walk_modules(entry.source, module_files(modules))):
                with open(entry.source.joinpath(*rel.parts), "rb") as f:
                    data = _read_capped(f)
                h.update(f"\0{rel}\0{len(data)}\0".encode())
                h.update(data)
        except (SubmissionError, OSError) as exc:
            h.update(f"unreadable: {exc}".encode())
    return h.hexdigest()

