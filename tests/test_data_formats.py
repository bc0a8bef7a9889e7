"""mvae.data.formats: the decoders, on small synthetic files (no network)."""

from __future__ import annotations

import io
import lzma
import shutil
import tarfile

import numpy as np
import pytest
from data_helpers import block_network, idx, idx_folder, idx_md5s

from mvae.data import formats
from mvae.data.integrity import ChecksumError


@pytest.fixture(autouse=True)
def _no_network(monkeypatch):
    block_network(monkeypatch)


def test_idx_round_trip_and_bad_header():
    images = np.random.default_rng(0).integers(0, 256, size=(5, 28, 28), dtype=np.uint8)
    np.testing.assert_array_equal(formats.parse_idx(idx(images)), images)
    labels = np.array([7, 2, 1], dtype=np.uint8)
    np.testing.assert_array_equal(formats.parse_idx(idx(labels)), labels)
    with pytest.raises(ValueError, match="unsigned-byte"):
        formats.parse_idx(b"\x00\x00\x0d\x01" + b"\x00" * 8)
    with pytest.raises(ValueError, match="payload"):
        formats.parse_idx(idx(images)[:-3])


def test_idx_content_md5_is_checked_and_bad_files_moved_aside(tmp_path):
    arrays = idx_folder(tmp_path)
    md5s = idx_md5s(arrays)
    decoded, checked = formats.idx_arrays(tmp_path, md5s)
    np.testing.assert_array_equal(decoded["train_images"], arrays["train_images"])
    assert checked["t10k-labels-idx1-ubyte.gz"].endswith(md5s["test_labels"])

    with pytest.raises(ChecksumError) as err:
        formats.idx_arrays(tmp_path, {**md5s, "test_labels": "0" * 32})
    assert "t10k-labels-idx1-ubyte.gz" in str(err.value) and "0" * 32 in str(err.value)
    assert md5s["test_labels"] in str(err.value)
    assert (tmp_path / "t10k-labels-idx1-ubyte.gz.corrupt").exists()
    assert (tmp_path / "train-images-idx3-ubyte.gz").exists()


def test_an_error_page_instead_of_gzip_is_a_checksum_error(tmp_path):
    bad = tmp_path / "train-images-idx3-ubyte.gz"
    bad.write_bytes(b"<html>403 Forbidden</html>")
    with pytest.raises(ChecksumError, match="no valid gzip data"):
        formats.read_idx_gz(bad, "a" * 32)
    assert (tmp_path / "train-images-idx3-ubyte.gz.corrupt").exists()


def test_a_bad_file_that_is_a_symlink_is_moved_aside_as_a_link(tmp_path):
    """The link is renamed; the file it points to is neither moved nor changed."""
    target = tmp_path / "elsewhere.gz"
    target.write_bytes(b"not gzip")
    link = tmp_path / "train-images-idx3-ubyte.gz"
    link.symlink_to(target)
    with pytest.raises(ChecksumError):
        formats.read_idx_gz(link, "a" * 32)
    aside = tmp_path / "train-images-idx3-ubyte.gz.corrupt"
    assert aside.is_symlink() and not link.exists()
    assert target.read_bytes() == b"not gzip"


def test_deb_is_unpacked_without_dpkg(tmp_path, monkeypatch):
    payload = io.BytesIO()
    with tarfile.open(fileobj=payload, mode="w") as tar:
        info = tarfile.TarInfo("./usr/share/datasets/fashion-mnist/hello.txt")
        info.size = 5
        tar.addfile(info, io.BytesIO(b"hello"))
    members = [(b"debian-binary", b"2.0\n"), (b"data.tar.xz", lzma.compress(payload.getvalue()))]
    deb = b"!<arch>\n" + b"".join(
        name.ljust(16) + b"0".ljust(12) + b"0".ljust(6) + b"0".ljust(6) + b"100644".ljust(8)
        + str(len(body)).encode().ljust(10) + b"`\n" + body + b"\n" * (len(body) % 2)
        for name, body in members)
    (tmp_path / "x.deb").write_bytes(deb)
    monkeypatch.setattr(shutil, "which", lambda _: None)
    formats.extract_deb(tmp_path / "x.deb", tmp_path / "out")
    assert (tmp_path / "out/usr/share/datasets/fashion-mnist/hello.txt").read_text() == "hello"
