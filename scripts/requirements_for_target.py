"""Writes the lines of a locked requirements file that apply to a target Python.

`pip download --python-version` still evaluates environment markers against the host's own
interpreter, so a requirement such as `async-timeout ; python_full_version < '3.11.3'` is
wrongly left out when the host runs 3.11.7 and the image 3.11.2. This evaluates each marker for
the image's interpreter instead and drops the markers from what it keeps.

usage: requirements_for_target.py REQUIREMENTS PYTHON_FULL_VERSION > OUT
"""

from __future__ import annotations

import re
import sys
from pathlib import Path

from packaging.markers import Marker


def target_environment(full_version: str) -> dict[str, str]:
    """Marker values of CPython `full_version` on Linux x86_64 (what the images run)."""
    return {
        "python_full_version": full_version,
        "python_version": ".".join(full_version.split(".")[:2]),
        "implementation_name": "cpython",
        "implementation_version": full_version,
        "platform_python_implementation": "CPython",
        "platform_system": "Linux",
        "platform_machine": "x86_64",
        "sys_platform": "linux",
        "os_name": "posix",
    }


def main(path: str, full_version: str) -> None:
    env = target_environment(full_version)
    # Join backslash continuations: one requirement (with its hashes) per entry.
    text = re.sub(r"\\\n\s*", " ", Path(path).read_text())
    for line in text.splitlines():
        line = line.split("#", 1)[0].strip()  # "# via ..." comments; hashes have no "#"
        if not line:
            continue
        requirement, _, rest = line.partition(" --hash")
        name, _, marker = requirement.partition(";")
        if marker.strip() and not Marker(marker.strip()).evaluate(env):
            continue
        print(f"{name.strip()} --hash{rest}" if rest else name.strip())


if __name__ == "__main__":
    main(sys.argv[1], sys.argv[2])
