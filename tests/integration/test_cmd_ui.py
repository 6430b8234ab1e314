"""`interestlens ui`: help, serving the app on a port, a port already taken."""

from __future__ import annotations

import socket
import subprocess
import sys
import time
import urllib.request

import pytest

from .run_cli import interestlens


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _get(url: str) -> str | None:
    try:
        with urllib.request.urlopen(url, timeout=2) as response:
            return response.read().decode("utf-8")
    except OSError:
        return None


def test_ui_help_names_its_options():
    result = interestlens("ui", "--help")
    assert result.returncode == 0, result.stderr
    for option in ("--store", "--host", "--port", "--max-upload-mb"):
        assert option in result.stdout


def test_ui_serves_the_app_until_stopped(tmp_path):
    port = _free_port()
    process = subprocess.Popen(
        [sys.executable, "-m", "interestlens", "ui", "--store", str(tmp_path / "store"),
         "--port", str(port)], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        page, deadline = None, time.monotonic() + 180
        while page is None and time.monotonic() < deadline and process.poll() is None:
            time.sleep(1)
            page = _get(f"http://127.0.0.1:{port}/")
        assert page is not None, process.stderr.read() if process.poll() is not None else "no page"
        config = _get(f"http://127.0.0.1:{port}/config")
        assert config is not None and '"title":"InterestLens"' in config
        assert "Segments · 分群" in config and "il-chatbot" in config
    finally:
        process.terminate()
        out, err = process.communicate(timeout=60)
    assert f"http://127.0.0.1:{port}" in out
    assert "Traceback" not in err


def test_ui_on_a_taken_port_is_a_one_line_config_error(tmp_path):
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        result = interestlens("ui", "--store", tmp_path / "store", "--port", port)
    assert result.returncode == 3, result.stderr
    assert result.stderr.strip() == (f"error: --port {port}: cannot listen on 127.0.0.1:{port} "
                                     "(in use or not allowed); choose another port")


@pytest.mark.parametrize(("option", "value", "message"), [
    ("--port", "-5", "--port -5: expected a port from 1 to 65535"),
    ("--port", "70000", "--port 70000: expected a port from 1 to 65535"),
    ("--max-upload-mb", "-1", "--max-upload-mb -1: expected a size above 0"),
])
def test_out_of_range_numbers_are_one_line_config_errors(tmp_path, option, value, message):
    result = interestlens("ui", "--store", tmp_path / "store", option, value)
    assert result.returncode == 3, result.stderr
    assert result.stderr == f"error: {message}\n"
