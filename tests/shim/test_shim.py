"""The shim gives back the exact bytes, whatever they are, after a clean run or a crash."""

from __future__ import annotations

import os
import stat
import tempfile
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from lockshim.errors import Interrupted, LockshimError, RestoreConflict
from lockshim.shim.journal import atomic_write, journal_path, saved_path, write_journal
from lockshim.shim.restore import restore
from lockshim.shim.swap import shimmed

LINE = st.text(st.characters(blacklist_categories=("Cs",)), max_size=300)
LOCK_TEXT = st.one_of(
    st.binary(max_size=4000),
    st.lists(LINE, max_size=40).map(lambda lines: "\n".join(lines).encode()),
    st.lists(LINE, max_size=40).map(lambda lines: "\r\n".join(lines).encode()),
    st.lists(LINE, max_size=10).map(lambda lines: ("\ufeff" + "\n".join(lines)).encode()),
    st.integers(1, 200_000).map(lambda n: b"x" * n),  # one very long line, no final newline
)
MODES = st.sampled_from([0o644, 0o600, 0o664, 0o444])


def _folder() -> tempfile.TemporaryDirectory[str]:
    return tempfile.TemporaryDirectory(prefix="lockshim-shim-test-")


@settings(max_examples=60, deadline=None)
@given(original=LOCK_TEXT, replacement=LOCK_TEXT, mode=MODES)
def test_a_clean_run_gives_back_the_exact_bytes(
    original: bytes, replacement: bytes, mode: int
) -> None:
    with _folder() as folder:
        lock = Path(folder) / "uv.lock"
        lock.write_bytes(original)
        os.chmod(lock, mode)
        with shimmed(lock, original, replacement):
            assert lock.read_bytes() == replacement
            assert journal_path(lock).exists()
        assert lock.read_bytes() == original
        assert stat.S_IMODE(lock.stat().st_mode) == mode
        assert sorted(os.listdir(folder)) == ["uv.lock"]


@settings(max_examples=60, deadline=None)
@given(original=LOCK_TEXT, replacement=LOCK_TEXT, mode=MODES)
def test_a_crash_is_finished_by_restore(original: bytes, replacement: bytes, mode: int) -> None:
    with _folder() as folder:
        lock = Path(folder) / "uv.lock"
        lock.write_bytes(original)
        os.chmod(lock, mode)
        write_journal(lock, original, replacement, mode, None)  # what sync does first,
        atomic_write(lock, replacement, mode)  # then this, then the process dies
        outcome = restore(lock)
        assert outcome is not None
        assert outcome.action == ("unchanged" if replacement == original else "restored")
        assert lock.read_bytes() == original
        assert stat.S_IMODE(lock.stat().st_mode) == mode
        assert sorted(os.listdir(folder)) == ["uv.lock"]


def test_an_exception_inside_still_restores(tmp_path: Path) -> None:
    lock = tmp_path / "uv.lock"
    lock.write_bytes(b"original\r\n")
    with pytest.raises(ZeroDivisionError), shimmed(lock, b"original\r\n", b"shimmed"):
        _ = 1 / 0
    assert lock.read_bytes() == b"original\r\n"
    assert not journal_path(lock).exists()


def test_a_signal_inside_still_restores(tmp_path: Path) -> None:
    lock = tmp_path / "uv.lock"
    lock.write_bytes(b"original")
    with pytest.raises(Interrupted), shimmed(lock, b"original", b"shimmed"):
        raise Interrupted(15)
    assert lock.read_bytes() == b"original"


@pytest.mark.parametrize(
    ("journal", "message"),
    [
        (
            b'{"format": 1, "original_sha256": "%s", "shimmed_sha256": "%s", "mode": 420}'
            b"\nnot the original" % (b"0" * 64, b"1" * 64),
            "damaged",
        ),
        (b'{"format": 1, "original_sha256": "00"}\nnot the original', "not a sha256"),
        (b'{"format": 99}\nwhatever', "cannot be read"),  # from a newer lockshim: not guessed at
        (b"no header at all", "cannot be read"),
    ],
)
def test_a_journal_that_cannot_be_trusted_is_kept_and_explained(
    tmp_path: Path, journal: bytes, message: str
) -> None:
    from lockshim.errors import LockshimError

    lock = tmp_path / "uv.lock"
    lock.write_bytes(b"shimmed")
    journal_path(lock).write_bytes(journal)
    with pytest.raises(LockshimError, match=message):
        restore(lock)
    assert lock.read_bytes() == b"shimmed" and journal_path(lock).read_bytes() == journal


def test_a_lock_changed_since_it_was_read_is_never_shimmed(tmp_path: Path) -> None:
    """Hashing a big wheelhouse takes time; a `git pull` meanwhile must not be overwritten."""
    from lockshim.errors import RestoreConflict

    lock = tmp_path / "uv.lock"
    lock.write_bytes(b"pulled meanwhile")
    with (
        pytest.raises(RestoreConflict, match="changed while lockshim was looking"),
        shimmed(lock, b"read at the start", b"shimmed"),
    ):
        raise AssertionError("the shim must not be entered")
    assert lock.read_bytes() == b"pulled meanwhile"
    assert not journal_path(lock).exists()


def test_forced_restores_never_overwrite_a_saved_copy(tmp_path: Path) -> None:
    lock = tmp_path / "uv.lock"
    for edit in (b"first edit", b"second edit"):
        lock.write_bytes(b"original")
        write_journal(lock, b"original", b"shimmed", 0o644, None)  # then killed; and then
        atomic_write(lock, edit, 0o644)  # the lock is edited
        outcome = restore(lock, force=True)
        assert outcome is not None and outcome.action == "forced"
    assert (tmp_path / "uv.lock.lockshim-replaced").read_bytes() == b"first edit"
    assert (tmp_path / "uv.lock.lockshim-replaced.1").read_bytes() == b"second edit"
    assert lock.read_bytes() == b"original"


def _a_run_whose_journal_carries_the_bytes(folder: Path) -> Path:
    """A clean run in ``folder`` where no file is kept: the journal holds the original."""
    lock = folder / "uv.lock"
    lock.write_bytes(b"original")
    with shimmed(lock, b"original", b"shimmed"):
        assert journal_path(lock).read_bytes().endswith(b"}\noriginal")
        assert not os.path.lexists(saved_path(lock))
    assert lock.read_bytes() == b"original" and sorted(os.listdir(folder)) == ["uv.lock"]
    return lock


def test_the_original_file_itself_is_kept_and_renamed_back(tmp_path: Path) -> None:
    """Where hard links work, the journal holds no copy: the original file is kept under a
    second name while uv runs, and comes back as the very same file (inode, mtime, mode)."""
    lock = tmp_path / "uv.lock"
    lock.write_bytes(b"original")
    os.chmod(lock, 0o640)
    os.utime(lock, ns=(1_000_000_000, 1_000_000_000))
    before = os.stat(lock)
    with shimmed(lock, b"original", b"shimmed"):
        kept = os.stat(saved_path(lock))
        assert (kept.st_ino, kept.st_dev) == (before.st_ino, before.st_dev)
        assert journal_path(lock).read_bytes().endswith(b"}\n")  # the header line alone
        assert lock.read_bytes() == b"shimmed"
    after = os.stat(lock)
    assert (after.st_ino, after.st_mtime_ns, stat.S_IMODE(after.st_mode)) == (
        before.st_ino,
        before.st_mtime_ns,
        0o640,
    )
    assert sorted(os.listdir(tmp_path)) == ["uv.lock"]


def test_without_hard_links_the_journal_carries_the_bytes(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """FAT, some network shares: os.link fails, the original's bytes go in the journal, and a
    crash is finished from them."""

    def no_links(*args: object, **kwargs: object) -> None:
        raise OSError(1, "Operation not permitted")

    monkeypatch.setattr(os, "link", no_links)
    lock = _a_run_whose_journal_carries_the_bytes(tmp_path)

    write_journal(lock, b"original", b"shimmed", 0o644, None)  # then killed
    atomic_write(lock, b"shimmed", 0o644)
    outcome = restore(lock)
    assert outcome is not None and outcome.action == "restored"
    assert lock.read_bytes() == b"original" and sorted(os.listdir(tmp_path)) == ["uv.lock"]


def test_a_file_already_named_like_the_kept_original_is_left_alone(tmp_path: Path) -> None:
    lock = tmp_path / "uv.lock"
    lock.write_bytes(b"original")
    saved_path(lock).write_bytes(b"someone's file")
    with shimmed(lock, b"original", b"shimmed"):
        assert journal_path(lock).read_bytes().endswith(b"}\noriginal")  # the bytes, then
    assert lock.read_bytes() == b"original"
    assert saved_path(lock).read_bytes() == b"someone's file"


def test_a_damaged_kept_original_is_never_put_back(tmp_path: Path) -> None:
    """After a crash, the kept file must still be the original (by sha256): else uv.lock,
    the journal and the kept file all stay as they are, and the message says what to do."""
    lock = tmp_path / "uv.lock"
    lock.write_bytes(b"original")
    write_journal(lock, b"original", b"shimmed", 0o644, None)
    atomic_write(lock, b"shimmed", 0o644)  # then killed; and then the kept file is changed:
    atomic_write(saved_path(lock), b"origin4l", 0o644)
    with pytest.raises(LockshimError, match=r"lockshim-saved.*git checkout -- uv.lock"):
        restore(lock)
    assert lock.read_bytes() == b"shimmed"
    assert saved_path(lock).read_bytes() == b"origin4l" and journal_path(lock).exists()
    os.symlink(tmp_path / "elsewhere", saved_path(lock).with_name("x"))
    os.replace(saved_path(lock).with_name("x"), saved_path(lock))  # a symlink in its place
    with pytest.raises(LockshimError, match="lockshim-saved"):
        restore(lock)
    assert lock.read_bytes() == b"shimmed" and os.path.islink(saved_path(lock))


def test_a_kept_file_changed_during_the_run_is_not_put_back(tmp_path: Path) -> None:
    """Written through another name, or swapped for a symlink while uv ran: this run's own
    bytes go back instead, as a plain file, and the kept name goes."""
    lock = tmp_path / "uv.lock"
    for tamper in ("through another name", "symlink"):
        lock.write_bytes(b"original")
        with shimmed(lock, b"original", b"shimmed"):
            if tamper == "symlink":
                os.unlink(saved_path(lock))
                os.symlink(tmp_path / "elsewhere", saved_path(lock))
            else:
                os.link(saved_path(lock), tmp_path / "other-name")
                with open(tmp_path / "other-name", "r+b") as stream:
                    stream.write(b"TAMPERED")
                os.unlink(tmp_path / "other-name")
        assert not os.path.islink(lock) and lock.read_bytes() == b"original", tamper
        assert sorted(os.listdir(tmp_path)) == ["uv.lock"], tamper


def test_a_lock_replaced_just_before_the_shim_is_left_as_it_is(tmp_path: Path) -> None:
    lock = tmp_path / "uv.lock"
    lock.write_bytes(b"original")
    seen = os.lstat(lock)
    atomic_write(lock, b"pulled meanwhile", 0o644)  # another program, after lockshim read it
    with pytest.raises(RestoreConflict, match="changed while lockshim"):
        write_journal(lock, b"original", b"shimmed", 0o644, None, info=seen)
    assert lock.read_bytes() == b"pulled meanwhile"
    assert sorted(os.listdir(tmp_path)) == ["uv.lock"]


def test_a_lock_with_other_names_carries_its_bytes_in_the_journal(tmp_path: Path) -> None:
    """A second name could write the kept file: the bytes go in the journal, and uv.lock comes
    back under both names as before."""
    lock = tmp_path / "uv.lock"
    lock.write_bytes(b"original")
    os.link(lock, tmp_path / "also")
    with shimmed(lock, b"original", b"shimmed"):
        assert journal_path(lock).read_bytes().endswith(b"}\noriginal")
        assert not os.path.lexists(saved_path(lock))
    assert lock.read_bytes() == b"original" == (tmp_path / "also").read_bytes()


def test_a_planted_hard_link_never_becomes_uv_lock(tmp_path: Path) -> None:
    """After a crash the kept file's bytes are written, never its file renamed: a kept name
    that is another file's second name (a tar can carry one) does not make uv.lock that file."""
    lock = tmp_path / "uv.lock"
    other = tmp_path / "pyproject.toml"
    other.write_bytes(b"original")
    os.chmod(other, 0o666)
    lock.write_bytes(b"original")
    write_journal(lock, b"original", b"shimmed", 0o644, None)
    atomic_write(lock, b"shimmed", 0o644)  # killed while uv ran; then the kept name is planted
    os.unlink(saved_path(lock))
    os.link(other, saved_path(lock))
    outcome = restore(lock)
    assert outcome is not None and outcome.action == "restored"
    assert lock.read_bytes() == b"original"
    assert os.stat(lock).st_ino != os.stat(other).st_ino
    assert stat.S_IMODE(os.stat(lock).st_mode) == 0o644
    assert sorted(os.listdir(tmp_path)) == ["pyproject.toml", "uv.lock"]


def test_restore_never_changes_a_symlinked_locks_target(tmp_path: Path) -> None:
    target = tmp_path / "target"
    target.write_bytes(b"original")
    os.chmod(target, 0o600)
    lock = tmp_path / "uv.lock"
    lock.write_bytes(b"original")
    write_journal(lock, b"original", b"shimmed", 0o644, None)
    os.unlink(lock)
    os.symlink(target, lock)  # planted since: holds the original's bytes, other mode
    restore(lock, force=True)
    assert stat.S_IMODE(os.stat(target).st_mode) == 0o600


def test_where_a_read_only_file_cannot_be_flushed_the_bytes_go_in_the_journal(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Windows flushes only files open for writing: the kept file's bytes could not be made
    durable, so it is not kept; the journal carries them (and is itself fsynced)."""
    import fcntl

    real_fsync = os.fsync

    def windows_like_fsync(fd: int) -> None:
        if fcntl.fcntl(fd, fcntl.F_GETFL) & os.O_ACCMODE == os.O_RDONLY:
            raise OSError(9, "Bad file descriptor")
        real_fsync(fd)

    monkeypatch.setattr(os, "fsync", windows_like_fsync)
    _a_run_whose_journal_carries_the_bytes(tmp_path)


def test_no_journal_is_left_when_the_journal_cannot_be_written(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """No hard links, then no space for the journal with the bytes: the header-only journal
    written first goes too, uv.lock is untouched, and the message says so."""
    from lockshim.shim import journal as shim_module

    def no_links(*args: object, **kwargs: object) -> None:
        raise OSError(1, "Operation not permitted")

    real_write = shim_module.atomic_write

    def full_disk(path: Path, data: bytes, mode: int, **kwargs: object) -> None:
        if path == journal_path(lock) and not data.endswith(b"\n"):
            raise OSError(28, "No space left on device")
        real_write(path, data, mode, **kwargs)  # type: ignore[arg-type]

    monkeypatch.setattr(os, "link", no_links)
    monkeypatch.setattr(shim_module, "atomic_write", full_disk)
    lock = tmp_path / "uv.lock"
    lock.write_bytes(b"original")
    with (
        pytest.raises(LockshimError, match="no journal is left behind"),
        shimmed(lock, b"original", b"shimmed"),
    ):
        raise AssertionError("never reached")
    assert lock.read_bytes() == b"original" and sorted(os.listdir(tmp_path)) == ["uv.lock"]


def test_when_undoing_a_failed_write_fails_too_the_journal_is_named(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from lockshim.shim import swap as shim_module

    lock = tmp_path / "uv.lock"
    lock.write_bytes(b"original")
    real_write, real_restore = shim_module.atomic_write, shim_module.restore

    def full_disk(path: Path, data: bytes, mode: int, **kwargs: object) -> None:
        if path == lock:
            raise OSError(28, "No space left on device")
        real_write(path, data, mode, **kwargs)  # type: ignore[arg-type]

    def failing_restore(*args: object, **kwargs: object) -> None:
        raise LockshimError("the disk went away")

    monkeypatch.setattr(shim_module, "atomic_write", full_disk)
    monkeypatch.setattr(shim_module, "restore", failing_restore)
    with (
        pytest.raises(LockshimError, match=r"lockshim-journal is kept.*lockshim restore"),
        shimmed(lock, b"original", b"shimmed"),
    ):
        raise AssertionError("never reached")
    monkeypatch.undo()
    outcome = real_restore(lock)  # what `lockshim restore` then does
    assert outcome is not None and outcome.action == "unchanged"
    assert lock.read_bytes() == b"original" and sorted(os.listdir(tmp_path)) == ["uv.lock"]


def test_a_hard_linked_lock_comes_back_with_a_word(
    project: Path, wheelhouse: Path, tmp_path: Path
) -> None:
    from support.projects import clean_env, lockshim

    lock = project / "uv.lock"
    other = tmp_path / "other-name.lock"
    os.link(lock, other)
    original = lock.read_bytes()
    result = lockshim(
        ["sync", "--no-pip-cache", "-w", str(wheelhouse)], project, clean_env(tmp_path)
    )
    assert result.returncode == 0, result.stderr
    assert f"{lock} has 1 other name(s) (hard links)" in result.stderr
    assert lock.read_bytes() == original == other.read_bytes()
