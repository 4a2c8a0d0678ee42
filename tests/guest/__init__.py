"""The test guest: a qemu TCG VM with a real kernel (device-mapper, LVM,
NFS server and client) for tests this host's kernel cannot run.

See doc/test-guest.rst.  ``Guest`` is the API; ``tools/guest`` the CLI.
"""

from tests.guest.config import GuestError  # noqa: F401
from tests.guest.instance import Guest  # noqa: F401
