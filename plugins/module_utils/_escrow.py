# -*- coding: utf-8 -*-
# Copyright: byok.kms contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The escrow file of generated key material. Private to byok.kms.

Material that is not escrowed is never imported: once imported material expires or is deleted, only
that same material brings the key (and every ciphertext under it) back. So the material is generated
here, written to its escrow file atomically (a private temporary file in the same directory, mode 0600
whatever the umask, hard-linked into place so an existing file is never overwritten, the temporary
name always removed), read back and compared by digest; only then may it be imported.

File format: raw bytes for SYMMETRIC_DEFAULT and HMAC_* (exactly the material), a PKCS#8 PEM
``PRIVATE KEY`` for RSA and ECC: both are what ``kms_key_material``'s ``key_material_path`` reads.

Nothing here returns, logs or raises the material: results carry the path, the key spec and the
facts of :func:`describe_key_material` (key check value, public key digest).
"""

from __future__ import annotations

import base64
import errno
import hashlib
import os
import stat
import tempfile
from typing import Any
from typing import Callable

from ansible_collections.byok.kms.plugins.module_utils._errors import ByokError
from ansible_collections.byok.kms.plugins.module_utils._errors import ValidationError
from ansible_collections.byok.kms.plugins.module_utils._material import KEY_SPECS
from ansible_collections.byok.kms.plugins.module_utils._material import describe_key_material
from ansible_collections.byok.kms.plugins.module_utils._material import generate_key_material
from ansible_collections.byok.kms.plugins.module_utils._material import key_spec_family
from ansible_collections.byok.kms.plugins.module_utils._material import load_key_material

FILE_MODE = 0o600
DIRECTORY_MODE = 0o700
# Others must not list or change the escrow directory (group access is the owner's choice).
FORBIDDEN_DIRECTORY_BITS = stat.S_IROTH | stat.S_IWOTH


def encode_for_file(key_spec: str, material: bytes) -> bytes:
    """File content for checked material: raw bytes (symmetric, HMAC) or PKCS#8 PEM (RSA, ECC)."""
    if key_spec_family(key_spec) in ("symmetric", "hmac"):
        return bytes(material)
    body = base64.encodebytes(bytes(material)).replace(b"\n", b"")
    lines = [body[i:i + 64] for i in range(0, len(body), 64)]
    return b"-----BEGIN PRIVATE KEY-----\n" + b"\n".join(lines) + b"\n-----END PRIVATE KEY-----\n"


def _digest(data: bytes) -> bytes:
    return hashlib.sha256(data).digest()


def _mode_string(mode: int | None) -> str | None:
    return None if mode is None else "%04o" % mode


def _facts(key_spec: str, material: bytes) -> dict[str, Any]:
    facts = describe_key_material(key_spec, material)
    facts.pop("family", None)
    return facts


def _missing_directories(directory: str) -> list[str]:
    """The directories to create, outermost first (empty when ``directory`` exists)."""
    missing: list[str] = []
    current = os.path.abspath(directory)
    while not os.path.exists(current):
        missing.append(current)
        parent = os.path.dirname(current)
        if parent == current:
            break
        current = parent
    if os.path.exists(current) and not os.path.isdir(current):
        raise ByokError(f"escrow directory {directory}: {current} exists and is not a directory", path=directory)
    return list(reversed(missing))


def check_directory(directory: str) -> None:
    """An existing escrow directory must not be readable or writable by others."""
    mode = stat.S_IMODE(os.stat(directory).st_mode)
    if mode & FORBIDDEN_DIRECTORY_BITS:
        raise ByokError(
            f"escrow directory {directory} has mode {_mode_string(mode)}: others may read or write it; "
            f"make it private (chmod 0700 {directory}) or choose another directory; nothing was written",
            path=directory,
            mode=_mode_string(mode),
        )


def create_directories(missing: list[str]) -> None:
    for directory in missing:
        try:
            os.mkdir(directory, DIRECTORY_MODE)
        except FileExistsError:
            continue
        os.chmod(directory, DIRECTORY_MODE)  # whatever the umask left


def write_new_file(path: str, content: bytes) -> None:
    """Write ``content`` to ``path`` atomically with mode 0600, never overwriting an existing file and
    never leaving the temporary file behind."""
    directory = os.path.dirname(os.path.abspath(path))
    fd, tmp = tempfile.mkstemp(prefix=".escrow-", suffix=".tmp", dir=directory)
    try:
        try:
            os.fchmod(fd, FILE_MODE)
            view = memoryview(content)
            while view:
                view = view[os.write(fd, view):]
            os.fsync(fd)
        finally:
            os.close(fd)
        try:
            os.link(tmp, path)
        except FileExistsError:
            raise ByokError(
                f"escrow file {path} appeared while the new material was being written; it was not overwritten: run again",
                path=path,
            ) from None
        except OSError as e:
            if e.errno not in (errno.EPERM, errno.ENOTSUP, errno.EXDEV, errno.EMLINK):
                raise
            # The file system has no hard links: rename (exists-check and rename are not atomic together).
            if os.path.lexists(path):
                raise ByokError(f"escrow file {path} appeared while the new material was being written; run again", path=path) from None
            os.rename(tmp, path)
    finally:
        try:
            os.unlink(tmp)
        except FileNotFoundError:
            pass
    dir_fd = os.open(directory, os.O_RDONLY)
    try:
        os.fsync(dir_fd)
    finally:
        os.close(dir_fd)


def read_file(path: str) -> bytes:
    with open(path, "rb") as f:
        return f.read()


def ensure_escrow(
    path: str,
    key_spec: str,
    check_mode: bool = False,
    fix_permissions: bool = True,
    generate: Callable[[str], bytes] = generate_key_material,
) -> dict[str, Any]:
    """Make sure ``path`` holds key material for ``key_spec`` with mode 0600.

    Absent: generate, write atomically, read back and compare (digest). Present: check the material
    fits ``key_spec`` and the mode is 0600 (set it when ``fix_permissions``, fail otherwise).
    Returns non-secret facts: changed, created, path, key_spec, mode, key_check_value (symmetric) or
    public_key_sha256 (RSA, ECC), and a diff of path state and mode."""
    if key_spec not in KEY_SPECS:
        raise ValidationError("key_spec", key_spec, "allowed: " + ", ".join(KEY_SPECS))
    if not path:
        raise ValidationError("path", path, "give the escrow file's path")
    path = os.path.abspath(path)
    if os.path.isdir(path):
        raise ValidationError("path", path, "give a file path, not a directory")
    result: dict[str, Any] = {"changed": False, "created": False, "path": path, "key_spec": key_spec}

    if os.path.lexists(path):
        st = os.stat(path)
        if not stat.S_ISREG(st.st_mode):
            raise ValidationError("path", path, "the escrow path must be a regular file")
        check_directory(os.path.dirname(path))
        mode = stat.S_IMODE(st.st_mode)
        material = load_key_material(key_spec, read_file(path), "path")
        result.update(_facts(key_spec, material))
        if mode != FILE_MODE:
            if not fix_permissions:
                raise ByokError(
                    f"escrow file {path} has mode {_mode_string(mode)}, not 0600: key material must be readable by "
                    f"its owner only; chmod 0600 {path} (or set fix_permissions: true)",
                    path=path,
                    mode=_mode_string(mode),
                )
            if not check_mode:
                os.chmod(path, FILE_MODE)
            result["changed"] = True
        result["mode"] = _mode_string(FILE_MODE)
        result["diff"] = {
            "before": {"path": path, "state": "file", "mode": _mode_string(mode)},
            "after": {"path": path, "state": "file", "mode": _mode_string(FILE_MODE)},
        }
        return result

    directory = os.path.dirname(path)
    missing = _missing_directories(directory)
    if not missing:
        check_directory(directory)
    result.update(changed=True, created=True, mode=_mode_string(FILE_MODE))
    result["diff"] = {
        "before": {"path": path, "state": "absent"},
        "after": {"path": path, "state": "file", "mode": _mode_string(FILE_MODE)},
    }
    if check_mode:
        return result

    material = load_key_material(key_spec, generate(key_spec), "generated material")
    content = encode_for_file(key_spec, material)
    create_directories(missing)
    write_new_file(path, content)
    try:
        read_back = read_file(path)
        if _digest(read_back) != _digest(content) or _digest(load_key_material(key_spec, read_back, "path")) != _digest(material):
            raise ByokError(f"escrow file {path} does not read back as written; it was removed and nothing is imported", path=path)
    except Exception:
        os.unlink(path)
        raise
    result.update(_facts(key_spec, material))
    return result
