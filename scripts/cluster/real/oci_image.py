#!/usr/bin/env python3
"""Writes a one-layer OCI image archive (FROM scratch) from static binaries, with no container
engine: the real node's pause, CoreDNS and probe images. The archive is an OCI image layout in a
tar, the format `ctr images import` reads (`podman save --format oci-archive` writes the same).

The output is reproducible: every timestamp is zero and every owner root, so the same binaries
give the same image digest.

usage: oci_image.py --name REF --out FILE --entrypoint PATH [--user UID:GID]
                    --file SRC:DEST [--file SRC:DEST ...] [--port 53/udp ...]
"""

from __future__ import annotations

import argparse
import gzip
import hashlib
import io
import json
import sys
import tarfile
from pathlib import Path

MANIFEST = "application/vnd.oci.image.manifest.v1+json"
CONFIG = "application/vnd.oci.image.config.v1+json"
LAYER = "application/vnd.oci.image.layer.v1.tar+gzip"


def layer_tar(files: list[tuple[Path, str]]) -> bytes:
    """An uncompressed tar of the files (and their parent folders), owned by root, mtime 0."""
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w", format=tarfile.PAX_FORMAT) as tar:
        folders = sorted({str(Path(dest).parent).lstrip("/") for _, dest in files} - {""})
        for folder in folders:
            info = tarfile.TarInfo(folder)
            info.type, info.mode = tarfile.DIRTYPE, 0o755
            tar.addfile(info)
        for src, dest in sorted(files, key=lambda f: f[1]):
            data = src.read_bytes()
            info = tarfile.TarInfo(dest.lstrip("/"))
            info.size, info.mode = len(data), 0o755
            tar.addfile(info, io.BytesIO(data))
    return buffer.getvalue()


def blob(data: bytes) -> tuple[str, bytes]:
    return "sha256:" + hashlib.sha256(data).hexdigest(), data


def build(name: str, entrypoint: list[str], user: str, files: list[tuple[Path, str]], ports: list[str]) -> bytes:
    raw = layer_tar(files)
    compressed = gzip.compress(raw, compresslevel=1, mtime=0)  # speed over size: it stays local
    layer_digest, layer = blob(compressed)
    config = {
        "architecture": "amd64",
        "os": "linux",
        "config": {"Entrypoint": entrypoint, "User": user, "WorkingDir": "/", "ExposedPorts": {p: {} for p in ports}},
        "rootfs": {"type": "layers", "diff_ids": ["sha256:" + hashlib.sha256(raw).hexdigest()]},
        "history": [{"created_by": "scripts/cluster/real/oci_image.py"}],
    }
    config_digest, config_bytes = blob(json.dumps(config, sort_keys=True).encode())
    manifest = {
        "schemaVersion": 2,
        "mediaType": MANIFEST,
        "config": {"mediaType": CONFIG, "digest": config_digest, "size": len(config_bytes)},
        "layers": [{"mediaType": LAYER, "digest": layer_digest, "size": len(layer)}],
    }
    manifest_digest, manifest_bytes = blob(json.dumps(manifest, sort_keys=True).encode())
    index = {
        "schemaVersion": 2,
        "mediaType": "application/vnd.oci.image.index.v1+json",
        "manifests": [
            {
                "mediaType": MANIFEST,
                "digest": manifest_digest,
                "size": len(manifest_bytes),
                "platform": {"architecture": "amd64", "os": "linux"},
                # containerd names the image from the first, podman-style readers from the second.
                "annotations": {"io.containerd.image.name": name, "org.opencontainers.image.ref.name": name},
            }
        ],
    }
    entries = {
        "oci-layout": json.dumps({"imageLayoutVersion": "1.0.0"}).encode(),
        "index.json": json.dumps(index, sort_keys=True).encode(),
    }
    for digest, data in ((layer_digest, layer), (config_digest, config_bytes), (manifest_digest, manifest_bytes)):
        entries["blobs/sha256/" + digest.split(":", 1)[1]] = data
    out = io.BytesIO()
    with tarfile.open(fileobj=out, mode="w", format=tarfile.PAX_FORMAT) as tar:
        for folder in ("blobs", "blobs/sha256"):
            info = tarfile.TarInfo(folder)
            info.type, info.mode = tarfile.DIRTYPE, 0o755
            tar.addfile(info)
        for path, data in entries.items():
            info = tarfile.TarInfo(path)
            info.size, info.mode = len(data), 0o644
            tar.addfile(info, io.BytesIO(data))
    return out.getvalue()


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--name", required=True, help="image reference, e.g. lgcp.local/pause:1")
    parser.add_argument("--out", required=True, type=Path)
    parser.add_argument("--entrypoint", required=True, action="append", help="repeat for arguments")
    parser.add_argument("--user", default="65532:65532", help="numeric UID:GID the image runs as")
    parser.add_argument("--file", required=True, action="append", help="SRC:DEST, a file put at DEST")
    parser.add_argument("--port", action="append", default=[], help="exposed port, e.g. 53/udp")
    args = parser.parse_args(argv)
    files = []
    for spec in args.file:
        src, sep, dest = spec.partition(":")
        if not sep or not dest.startswith("/"):
            parser.error(f"--file {spec!r}: expected SRC:/absolute/destination")
        if not Path(src).is_file():
            parser.error(f"--file {spec!r}: {src} is not a file")
        files.append((Path(src), dest))
    uid, sep, gid = args.user.partition(":")
    if not (uid.isdigit() and sep and gid.isdigit()):
        parser.error(f"--user {args.user!r}: expected numeric UID:GID (Pod Security checks it)")
    archive = build(args.name, args.entrypoint, args.user, files, args.port)
    tmp = args.out.with_name(args.out.name + ".partial")
    tmp.write_bytes(archive)
    tmp.replace(args.out)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
