"""Downloads: resume from a partial file, verify md5, extract atomically, clear offline errors.

A tiny HTTP server on 127.0.0.1 (Range-capable) stands in for the official host.
"""

from __future__ import annotations

import hashlib
import http.server
import io
import tarfile
import threading
from pathlib import Path

import pytest

from augmix.data import download as dl
from augmix.data.sources import Archive


class RangeHandler(http.server.BaseHTTPRequestHandler):
    payload = b""
    requests: list = []

    def do_GET(self):  # noqa: N802 - http.server API
        rng = self.headers.get("Range")
        type(self).requests.append(rng)
        start = int(rng.split("=")[1].rstrip("-")) if rng else 0
        body = self.payload[start:]
        self.send_response(206 if rng else 200)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args):
        pass


@pytest.fixture
def server():
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w") as tar:
        data = b"x" * 5000
        info = tarfile.TarInfo("THING/a.bin")
        info.size = len(data)
        tar.addfile(info, io.BytesIO(data))
    RangeHandler.payload = buf.getvalue()
    RangeHandler.requests = []
    httpd = http.server.HTTPServer(("127.0.0.1", 0), RangeHandler)
    threading.Thread(target=httpd.serve_forever, daemon=True).start()
    yield httpd
    httpd.shutdown()


def archive_for(httpd, md5=None) -> Archive:
    url = f"http://127.0.0.1:{httpd.server_address[1]}/thing.tar"
    return Archive("THING", url, "thing.tar", md5 or hashlib.md5(RangeHandler.payload).hexdigest(), "THING", "1 kB")


def test_resume_verify_and_extract(server, tmp_path):
    arc = archive_for(server)
    part = tmp_path / "thing.tar.part"
    part.write_bytes(RangeHandler.payload[:3000])  # an interrupted earlier download
    path = dl.download(arc, tmp_path)
    assert RangeHandler.requests == ["bytes=3000-"]
    assert path.read_bytes() == RangeHandler.payload and not part.exists()
    folder = dl.extract(path, arc, tmp_path)
    assert (folder / "a.bin").stat().st_size == 5000
    assert not [p for p in tmp_path.iterdir() if p.name.startswith(".THING")]  # no temp folder left


def test_wrong_checksum_is_refused_and_partial_removed(server, tmp_path):
    arc = archive_for(server, md5="0" * 32)
    with pytest.raises(dl.DataError, match="does not match the published"):
        dl.download(arc, tmp_path)
    assert not list(tmp_path.iterdir())


def test_offline_error_says_where_to_put_a_copy(tmp_path, monkeypatch):
    arc = Archive("THING", "http://127.0.0.1:9/nothing.tar", "thing.tar", "0" * 32, "THING", "1 kB")
    monkeypatch.setattr(dl.time, "sleep", lambda s: None)
    with pytest.raises(dl.DataError) as err:
        dl.download(arc, tmp_path, retries=2, timeout=2)
    msg = str(err.value)
    assert "cannot download THING" in msg and str(tmp_path / "thing.tar") in msg and "\n" not in msg


def test_damaged_local_archive_is_reported(tmp_path):
    arc = Archive("THING", "http://127.0.0.1:9/x", "thing.tar", "0" * 32, "THING", "1 kB")
    (tmp_path / "thing.tar").write_bytes(b"not a tar")
    with pytest.raises(dl.DataError, match="md5 .* is not the published"):
        dl.extract(tmp_path / "thing.tar", arc, tmp_path)
    assert Path(tmp_path / "thing.tar").exists()
