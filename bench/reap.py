"""Run a command and wait for every process it leaves behind, so that GNU time's CPU figure covers them.

digest's parser processes are children of a multiprocessing forkserver, not of digest's main process, and
the forkserver outlives that process by a moment: timed directly, their CPU time was never counted. As a
child subreaper (Linux prctl), this process inherits whatever the command leaves and reaps it; a reaped
process's CPU includes the children it reaped itself, as the forkserver does its parsers. Peak RSS is
unchanged: GNU time reports the largest single process.
"""

import ctypes
import os
import sys

PR_SET_CHILD_SUBREAPER = 36


def main() -> int:
    if ctypes.CDLL(None, use_errno=True).prctl(PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0) != 0:
        raise SystemExit(f"prctl(PR_SET_CHILD_SUBREAPER): {os.strerror(ctypes.get_errno())}")
    pid = os.fork()
    if pid == 0:
        os.execvp(sys.argv[1], sys.argv[1:])
    code = 0
    while True:
        try:
            reaped, status = os.wait()
        except ChildProcessError:  # nothing left
            return code
        if reaped == pid:
            code = os.waitstatus_to_exitcode(status)
            code = code if code >= 0 else 128 - code


if __name__ == "__main__":
    sys.exit(main())
