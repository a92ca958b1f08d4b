"""Stand-in for ansible-test's pip bootstrap script (get-pip.py).

ansible-test downloads get-pip.py from its own CI file host to put pip into each sanity-test virtual
environment; that host is not among the package registries this project's machines reach. This script
keeps the same contract (its arguments are `pip install` arguments, e.g. `pip==25.2`): it bootstraps
pip with the interpreter's own ensurepip and then installs what was asked from the package index.
`make sanity` copies it to ~/.ansible/test/cache/ under the name ansible-test looks for.
"""

import subprocess
import sys

args = [a for a in sys.argv[1:] if a not in ("--no-setuptools", "--no-wheel")]
subprocess.check_call([sys.executable, "-m", "ensurepip", "--upgrade", "--default-pip"], stdout=subprocess.DEVNULL)
sys.exit(subprocess.call([sys.executable, "-m", "pip", "install", "--quiet", *args]))
