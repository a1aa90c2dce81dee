#!/usr/bin/env python3
"""Run a command as a background job of a terminal, the way a shell runs
`cmd &`: a new pseudo-terminal whose foreground process group is this
helper's, and the command in a process group of its own, with stdin on the
terminal. The command's stdout goes to the terminal when --stdout-tty is
given, else to the file named by --out; stderr always goes to --err.

Prints "exited N" when the command exits, or "stopped SIG" when the kernel
stops it (SIGTTOU/SIGTTIN: it touched the terminal from the background);
a stopped command is killed. Exit status 0 when the command exited 0.

usage: bgpty.py [--stdout-tty] --out FILE --err FILE -- CMD ARGS...
"""
import os
import pty
import signal
import sys


def main():
    args = sys.argv[1:]
    stdout_tty = False
    out = err = None
    while args and args[0] != "--":
        if args[0] == "--stdout-tty":
            stdout_tty = True
            args = args[1:]
        elif args[0] in ("--out", "--err") and len(args) > 1:
            if args[0] == "--out":
                out = args[1]
            else:
                err = args[1]
            args = args[2:]
        else:
            sys.exit(__doc__)
    cmd = args[1:]
    if not cmd or err is None or (out is None and not stdout_tty):
        sys.exit(__doc__)

    pid, master = pty.fork()
    if pid == 0:
        # The session leader: its process group is the terminal's
        # foreground group. The command goes into a group of its own.
        child = os.fork()
        if child == 0:
            os.setpgid(0, 0)
            if not stdout_tty:
                fd = os.open(out, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o644)
                os.dup2(fd, 1)
            fd = os.open(err, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o644)
            os.dup2(fd, 2)
            try:
                os.execvp(cmd[0], cmd)
            finally:
                os._exit(127)
        os.setpgid(child, child)
        while True:
            _, status = os.waitpid(child, os.WUNTRACED)
            if os.WIFSTOPPED(status):
                sig = os.WSTOPSIG(status)
                os.write(1, ("stopped %s\n" % signal.Signals(sig).name).encode())
                os.killpg(child, signal.SIGKILL)
                os.waitpid(child, 0)
                os._exit(3)
            if os.WIFEXITED(status):
                os.write(1, ("exited %d\n" % os.WEXITSTATUS(status)).encode())
                os._exit(0 if os.WEXITSTATUS(status) == 0 else 1)
            if os.WIFSIGNALED(status):
                os.write(1, ("killed %d\n" % os.WTERMSIG(status)).encode())
                os._exit(2)
    # Relay what the terminal shows (the helper's report, and the
    # command's stdout when it is the terminal) until it closes.
    while True:
        try:
            data = os.read(master, 4096)
        except OSError:
            break
        if not data:
            break
        sys.stdout.buffer.write(data)
        sys.stdout.flush()
    _, status = os.waitpid(pid, 0)
    sys.exit(os.WEXITSTATUS(status) if os.WIFEXITED(status) else 2)


if __name__ == "__main__":
    main()
