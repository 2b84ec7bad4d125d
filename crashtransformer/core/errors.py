"""The two kinds of failure the CLI distinguishes.

A UserError is something the user can fix (a missing file, a bad flag value, a model that
cannot be fetched offline): the CLI prints its one-line message and exits 2, no traceback.
Anything else is a bug or an environment failure: exit 1, short message, log path.
"""


class UserError(Exception):
    """A mistake the user can fix; the message says what to change."""

    exit_code = 2


# Documented exit codes, shared by every command (see README, "Exit codes").
EXIT_OK = 0
EXIT_INTERNAL = 1
EXIT_USAGE = 2
EXIT_PARTIAL = 3  # finished, but some rows were rejected (see rejects.csv)
EXIT_LOCKED = 4  # another run holds the lock on the output directory
EXIT_RETRY = 5  # the machine or the delivery failed (a full disk, an input still being written): fix it, run again


class RetryError(UserError):
    """Not the command's fault: the disk filled, an input changed while it was read. The message
    says what to fix; the same command run again carries on, and nothing finished is lost."""

    exit_code = EXIT_RETRY
