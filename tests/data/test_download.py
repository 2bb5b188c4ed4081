"""Tests for mlp_course.data.download against a local HTTP server: a good file is saved and
verified; a wrong, truncated, dropped, stalled or interrupted download leaves nothing behind;
mirrors are tried in order; the progress bar is drawn on stderr with '\\r'."""
from __future__ import annotations

import socket

import pytest

from mlp_course.data import download as download_module
from mlp_course.data.download import (
    DownloadError,
    DownloadWarning,
    ProgressBar,
    check_url,
    download_file,
    download_from_mirrors,
)

from .conftest import sha256

BODY = bytes(range(256)) * 400   # 102,400 bytes: two chunks of 64 KiB (download._CHUNK_SIZE)
NAME = "blob.gz"


@pytest.fixture
def folder(tmp_path):
    return tmp_path / "cache" / "set"


def leftovers(folder):
    return sorted(path.name for path in folder.iterdir()) if folder.exists() else []


def test_a_good_download_is_saved_verified_and_reported(server, folder, capsys):
    url = server.serve("a", {NAME: BODY}) + NAME
    digest = download_file(url, folder / NAME, sha256={sha256(BODY)})
    assert digest == sha256(BODY)
    assert (folder / NAME).read_bytes() == BODY
    assert leftovers(folder) == [NAME], "no temporary file is left"
    assert server.requests == [f"/a/{NAME}"]
    err = capsys.readouterr().err
    assert err.startswith("\r") and err.endswith("\n")
    assert "\r" + ProgressBar(NAME, len(BODY)).line(len(BODY)) + "\n" in err
    assert f"{NAME}  [" in err and "100%  0.1/0.1 MB" in err and "  0%  0.0/0.1 MB" in err


def test_progress_false_writes_nothing(server, folder, capsys):
    url = server.serve("a", {NAME: BODY}) + NAME
    download_file(url, folder / NAME, sha256=[sha256(BODY)], progress=False)
    assert capsys.readouterr().err == ""


def test_without_content_length_the_bar_shows_megabytes_only(server, folder, capsys):
    url = server.serve("a", {NAME: BODY}, "no-length") + NAME
    download_file(url, folder / NAME, sha256=[sha256(BODY)])
    err = capsys.readouterr().err
    assert err.endswith(f"\r{NAME}  0.1 MB\n") and "%" not in err


def test_the_progress_line():
    bar = ProgressBar("train-images-idx3-ubyte.gz", 26_421_880)
    assert bar.line(13_210_940) == (
        "train-images-idx3-ubyte.gz  [############------------]  50%  13.2/26.4 MB")
    assert bar.line(0).endswith("[------------------------]   0%  0.0/26.4 MB")
    assert ProgressBar("f", None).line(2_500_000) == "f  2.5 MB"


def test_the_bar_is_redrawn_only_when_the_percentage_changes():
    class Stream:
        def __init__(self):
            self.parts = []

        def write(self, text):
            self.parts.append(text)

        def flush(self):
            pass

    stream = Stream()
    bar = ProgressBar("f", 1000, stream=stream)
    for done in range(0, 1001, 2):
        bar.update(done)
    bar.close(1000)
    assert len(stream.parts) == 102  # 0%, 1%, ..., 100%, then the final line
    assert all(part.startswith("\r") for part in stream.parts) and stream.parts[-1].endswith("\n")


@pytest.mark.parametrize("behaviour, message", [
    ("truncated", f"the connection closed after {len(BODY) // 2} of {len(BODY)} bytes \\(truncated\\)"
                  f"|received {len(BODY) // 2} bytes but the server announced {len(BODY)} \\(truncated\\)"),
    ("drop", "the connection failed after 65536 of 102400 bytes \\(ConnectionResetError"),
    ("missing", "HTTP error 404 Not Found"),
])
def test_a_failed_transfer_leaves_nothing(server, folder, behaviour, message):
    url = server.serve("a", {NAME: BODY}, behaviour) + NAME
    with pytest.raises(DownloadError, match=message):
        download_file(url, folder / NAME, sha256=[sha256(BODY)], progress=False)
    assert leftovers(folder) == []


def test_a_wrong_digest_leaves_nothing_and_an_old_file_stays(server, folder):
    url = server.serve("a", {NAME: BODY}) + NAME
    with pytest.raises(DownloadError, match=f"wrong SHA-256 digest {sha256(BODY)}, expected {'0' * 64}"):
        download_file(url, folder / NAME, sha256=["0" * 64], progress=False)
    assert leftovers(folder) == []
    (folder / NAME).write_bytes(b"old")
    with pytest.raises(DownloadError, match="wrong SHA-256"):
        download_file(url, folder / NAME, sha256=["0" * 64], progress=False)
    assert (folder / NAME).read_bytes() == b"old", "a failed download does not replace a file"
    assert leftovers(folder) == [NAME]


def test_a_stalled_server_times_out_and_leaves_nothing(server, folder):
    url = server.serve("a", {NAME: BODY}, "stall") + NAME
    with pytest.raises(DownloadError, match="connection failed after 0 of 102400 bytes .*timed out"):
        download_file(url, folder / NAME, sha256=[sha256(BODY)], progress=False, timeout=0.3)
    assert leftovers(folder) == []


def test_a_closed_port_is_a_connection_error():
    with socket.socket() as probe:  # a port nobody listens on
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    with pytest.raises(DownloadError, match="could not connect"):
        download_file(f"http://127.0.0.1:{port}/{NAME}", "unused/" + NAME, sha256=["0" * 64], progress=False)


def test_ctrl_c_during_the_transfer_removes_the_temporary_file(server, folder, monkeypatch):
    url = server.serve("a", {NAME: BODY}) + NAME
    seen = []

    def interrupt(self, done):
        seen.append(done)
        if done:
            assert len(leftovers(folder)) == 1, "the bytes go to a temporary file first"
            raise KeyboardInterrupt

    monkeypatch.setattr(ProgressBar, "update", interrupt)
    with pytest.raises(KeyboardInterrupt):
        download_file(url, folder / NAME, sha256=[sha256(BODY)])
    assert seen == [0, 65536] and leftovers(folder) == []


def test_mirrors_are_tried_in_order_with_a_warning_for_each_failure(server, folder):
    first = server.mirror("first")                      # serves nothing: 404
    second = server.serve("second", {NAME: b"corrupt"})  # wrong bytes
    third = server.serve("third", {NAME: BODY})
    with pytest.warns(DownloadWarning) as record:
        digest = download_from_mirrors(NAME, [first, second, third], folder / NAME,
                                       sha256=[sha256(BODY)], progress=False)
    assert digest == sha256(BODY) and (folder / NAME).read_bytes() == BODY
    assert server.requests == [f"/first/{NAME}", f"/second/{NAME}", f"/third/{NAME}"]
    messages = [str(warning.message) for warning in record]
    assert len(messages) == 2
    assert messages[0].startswith(f"Could not download {NAME} from {first}{NAME}: HTTP error 404")
    assert f"from {second}{NAME}: wrong SHA-256 digest" in messages[1]
    assert all(message.endswith("Trying the next mirror.") for message in messages)
    assert leftovers(folder) == [NAME]


def test_when_every_mirror_fails_the_error_lists_each_url_and_the_advice(server, folder):
    first = server.serve("first", {NAME: BODY}, "truncated")
    second = server.serve("second", {NAME: b"corrupt"})
    with pytest.warns(DownloadWarning):
        with pytest.raises(DownloadError) as info:
            download_from_mirrors(NAME, [first, second], folder / NAME, sha256=[sha256(BODY)],
                                  progress=False, advice="Do this instead.")
    lines = str(info.value).splitlines()
    assert lines[0] == f"Could not download {NAME} from any mirror:"
    assert lines[1].startswith(f"  - {first}{NAME}: ") and "truncated" in lines[1]
    assert lines[2].startswith(f"  - {second}{NAME}: wrong SHA-256 digest")
    assert lines[3] == "Do this instead."
    assert [url for url, _ in info.value.failures] == [first + NAME, second + NAME]
    assert leftovers(folder) == []


@pytest.mark.parametrize("url, error, message", [
    ("http://example.com/a.gz", ValueError, "expected an https:// URL"),
    ("ftp://example.com/a.gz", ValueError, "expected an https:// URL"),
    ("https:///a.gz", ValueError, "expected an https:// URL"),
    (b"https://example.com/a.gz", TypeError, "url must be a string, got bytes"),
])
def test_refuses_urls_that_are_not_https(url, error, message):
    with pytest.raises(error, match=message):
        check_url(url)
    with pytest.raises(error, match=message):
        download_file(url, "unused", sha256=["0" * 64])


def test_plain_http_is_accepted_only_on_this_machine():
    for url in ("https://example.com/a.gz", "http://127.0.0.1:8000/a.gz", "http://localhost/a.gz"):
        check_url(url)


@pytest.mark.parametrize("kwargs, error, message", [
    ({"sha256": "0" * 64}, TypeError, "sha256 must be a collection of accepted hex digests"),
    ({"sha256": []}, TypeError, "sha256 must be a collection"),
    ({"progress": "yes"}, TypeError, "progress must be True or False, got 'yes'"),
    ({"timeout": 0}, ValueError, "timeout must be a positive number of seconds, got 0"),
    ({"timeout": True}, ValueError, "timeout must be a positive number"),
])
def test_refuses_bad_arguments_before_touching_the_disk(tmp_path, kwargs, error, message):
    arguments = {"sha256": ["0" * 64], **kwargs}
    with pytest.raises(error, match=message):
        download_file("https://example.com/a.gz", tmp_path / "new" / NAME, **arguments)
    assert not (tmp_path / "new").exists()


def test_download_from_mirrors_refuses_an_empty_or_bad_mirror_list(tmp_path):
    with pytest.raises(ValueError, match="no mirrors given for a.gz"):
        download_from_mirrors("a.gz", [], tmp_path / "a.gz", sha256=["0" * 64])
    with pytest.raises(ValueError, match="expected an https:// URL"):
        download_from_mirrors("a.gz", ["https://ok.example/", "http://bad.example/"], tmp_path / "a.gz",
                              sha256=["0" * 64])



def test_a_redirect_away_from_https_is_refused(monkeypatch, folder):
    class Response:
        headers = {"Content-Length": "3"}

        def geturl(self):
            return "http://example.com/elsewhere.gz"

        def __enter__(self):
            return self

        def __exit__(self, *exc_info):
            return False

    monkeypatch.setattr(download_module.urllib.request, "urlopen", lambda request, timeout: Response())
    with pytest.raises(DownloadError, match="redirected to http://example.com/elsewhere.gz, which is not an HTTPS URL"):
        download_file("https://example.com/a.gz", folder / NAME, sha256=["0" * 64], progress=False)
    assert leftovers(folder) == []
