"""`arbsniper run --demo` in a real pseudo-terminal, as a user sees it: the live view, Ctrl-C, the summary."""

from __future__ import annotations

import os
import pty
import re
import select
import subprocess
import sys
import time
from pathlib import Path

import pytest

from tests.integration.test_run_demo import arbsniper, demo_env

ANSI = re.compile(r"\x1b\[[0-9;?]*[A-Za-z]")
BAD = ("Traceback", "Fatal Python error", "called after connection lost", "WARNING", "ERROR")


class Terminal:
    """A child process on a pseudo-terminal (its controlling TTY: Ctrl-C is a real SIGINT to its group)."""

    def __init__(self, argv: list[str], env: dict[str, str]) -> None:
        self.pid, self.fd = pty.fork()
        if self.pid == 0:  # the child: becomes the command
            os.execve(argv[0], argv, env)
        self.out = b""

    def read_for(self, seconds: float) -> None:
        end = time.monotonic() + seconds
        while time.monotonic() < end:
            ready, _, _ = select.select([self.fd], [], [], 0.05)
            if ready:
                try:
                    self.out += os.read(self.fd, 65536)
                except OSError:  # the child closed the terminal
                    return

    def read_until(self, text: bytes, timeout: float) -> bool:
        end = time.monotonic() + timeout
        while text not in self.out and time.monotonic() < end:
            self.read_for(0.1)
        return text in self.out

    def ctrl_c(self) -> None:
        os.write(self.fd, b"\x03")

    def wait(self, timeout: float) -> int | None:
        end = time.monotonic() + timeout
        while time.monotonic() < end:
            pid, status = os.waitpid(self.pid, os.WNOHANG)
            if pid:
                self.read_for(0.2)
                os.close(self.fd)
                return os.waitstatus_to_exitcode(status)
            self.read_for(0.1)
        os.kill(self.pid, 9)
        os.waitpid(self.pid, 0)
        return None

    def text(self) -> str:
        return ANSI.sub("", self.out.decode(errors="replace"))


def test_ctrl_c_during_run_demo_exits_cleanly_ten_times(tmp_path: Path) -> None:
    """Ctrl-C at different moments once the view is up (venues connecting, resyncing, trading):
    exit 0, nothing alarming, a summary."""
    argv = arbsniper("run", "--demo", "--seed", "3", data_dir=tmp_path)
    for k in range(10):
        term = Terminal(argv, demo_env())
        assert term.read_until(b"arbsniper run", 30), term.text()[-2000:]
        term.read_for(0.45 * k)
        term.ctrl_c()
        code = term.wait(30)
        shown = term.text()
        assert code == 0, f"press {k}: exit {code}\n{shown[-2000:]}"
        after = shown.split("^C", 1)[-1]
        for bad in BAD:
            assert bad not in after, f"press {k}: {bad!r} after Ctrl-C\n{after[-2000:]}"
        assert "Traceback" not in shown and "Fatal Python error" not in shown, shown[-2000:]
        assert "ran " in after, f"press {k}: no exit summary\n{after[-1000:]}"


def test_live_view_keeps_the_dashboard_url_on_screen_and_sums_up(tmp_path: Path) -> None:
    term = Terminal(arbsniper("run", "--demo", "--seed", "3", data_dir=tmp_path), demo_env())
    assert term.read_until(b"up", 20), term.text()[-2000:]
    term.read_for(3)
    term.ctrl_c()
    assert term.wait(30) == 0
    shown = term.text()
    frames = shown.split("arbsniper run")
    assert len(frames) > 3, "the view was not redrawn in place"
    last = frames[-1]
    assert re.search(r"dashboard http://127\.0\.0\.1:\d+/", last)
    assert re.search(r"venues \d+/\d+ up", last) and "msgs/s" in last and "paper P&L this session" in last
    assert "OPEN " not in shown and "FILL " not in shown, "event lines on a TTY without --verbose"
    assert re.search(r"ran [\d.]+ s: \d+ opportunities, \d+ paper trades, session P&L [+-][\d.,]+ USD", shown)


def test_without_a_tty_event_lines_go_to_stderr_and_the_summary_too(tmp_path: Path) -> None:
    env = demo_env()
    proc = subprocess.run(arbsniper("run", "--demo", "--duration", "5", "--seed", "11", data_dir=tmp_path),
                          capture_output=True, text=True, timeout=60, env=env)
    assert proc.returncode == 0, proc.stderr[-2000:]
    assert proc.stdout == ""
    assert "OPEN " in proc.stderr and "arbsniper run  venues" not in proc.stderr
    assert re.search(r"ran [\d.]+ s: \d+ opportunities", proc.stderr)


@pytest.mark.skipif(sys.platform != "linux", reason="pty semantics")
def test_sigterm_on_a_tty_exits_cleanly(tmp_path: Path) -> None:
    term = Terminal(arbsniper("run", "--demo", "--seed", "3", data_dir=tmp_path), demo_env())
    assert term.read_until(b"up", 20)
    os.kill(term.pid, 15)
    assert term.wait(30) == 0
    for bad in BAD:
        assert bad not in term.text(), term.text()[-2000:]
