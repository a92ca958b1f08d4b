"""Start and stop the local KMS server (moto's server mode plus the byok extension) on 127.0.0.1.

API used by the tests:
    with kms_server() as url: ...            # a server on a free loopback port, stopped on exit
    python tests/kms_server/launch.py --port 0 --url-file F   # foreground; writes the URL to F

Test-only controls of a running server live under URL/byok-api/ (call counting, clock, import token
lifetime, request delays): see _control.py. Env BYOK_KMS_IMPORT_TOKEN_LIFETIME (seconds) sets the token lifetime at start.
"""

from __future__ import annotations

import argparse
import contextlib
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Iterator

HERE = Path(__file__).resolve().parent


def serve(host: str, port: int, url_file: str | None) -> None:
    """Run the server in this process until killed."""
    sys.path.insert(0, str(HERE.parent))
    from kms_server import extension  # noqa: F401  (installs the byok behaviour into moto)
    from moto.server import ThreadedMotoServer

    server = ThreadedMotoServer(ip_address=host, port=port, verbose=False)
    server.start()
    actual_port = server._server.server_port  # pylint: disable=protected-access
    url = f"http://{host}:{actual_port}"
    if url_file:
        Path(url_file + ".tmp").write_text(url)
        os.replace(url_file + ".tmp", url_file)
    print(url, flush=True)
    try:
        while True:
            time.sleep(3600)
    except KeyboardInterrupt:
        server.stop()


@contextlib.contextmanager
def kms_server(timeout: float = 30) -> Iterator[str]:
    """A fresh server in a child process; yields its URL (http://127.0.0.1:PORT)."""
    with tempfile.TemporaryDirectory() as tmp:
        url_file = os.path.join(tmp, "url")
        log = open(os.path.join(tmp, "log"), "w+")  # noqa: SIM115
        proc = subprocess.Popen(
            [sys.executable, str(Path(__file__).resolve()), "--port", "0", "--url-file", url_file],
            stdout=log, stderr=subprocess.STDOUT,
        )
        try:
            deadline = time.monotonic() + timeout
            while not os.path.exists(url_file):
                if proc.poll() is not None or time.monotonic() > deadline:
                    log.seek(0)
                    raise RuntimeError(f"local KMS server did not start:\n{log.read()}")
                time.sleep(0.05)
            yield Path(url_file).read_text()
        finally:
            proc.terminate()
            try:
                proc.wait(10)
            except subprocess.TimeoutExpired:
                proc.kill()
            log.close()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=0)
    parser.add_argument("--url-file")
    args = parser.parse_args()
    if not args.host.startswith("127.") and args.host not in ("localhost", "::1"):
        parser.error("the local KMS server listens on loopback only")
    serve(args.host, args.port, args.url_file)


if __name__ == "__main__":
    main()
