#!/usr/bin/python3
"""A network helper that misbehaves on request, for the whole-agent tests of
the agent <-> ant-agent-net pipe (tests/faults/test_fault_nethelper*.sh).

The test copies this file to DIR/net-helper and points the agent at it with
ANT_AGENT_NET_HELPER. It runs the real helper (the path in DIR/net-helper.real)
as its child and passes the frames (src/netmsg.h) through both ways, except
requests whose URL holds a text named in DIR/netfault (read for every
request; lines "TEXT MODE"). Such a request never reaches the real helper
(so nothing is sent for it: a push that the agent wrongly took as sent
would be lost), and MODE is acted out instead:

  segv        dies by SIGSEGV
  exit-mid    writes the first half of an answer frame (204), then exits 1
  hang        never writes again (the agent has to stop it)
  garbage     a frame of a plausible length, its type and id right, the
              rest random
  biglen      a length field of 2 GiB, then junk
  unknown-id  a well-formed 200 answer saying "[]" (kill-switch OFF) for an
              id the agent never used; then the request goes through
  forged      a 200 answer saying "[]" for the right id, its ETag holding a
              terminal escape (a field the decoder must refuse)
  flood       body pieces of 64 KiB for the request until the agent stops
              reading (at most 256 MiB): refused at once for a request that
              asked for no stream, at its cap for one that did
  escape      a well-formed failed answer whose error text holds terminal
              escapes and a fake "kill-switch is OFF"; then it goes on

Each start writes its environment as the kernel gave it (/proc/self/environ)
to DIR/helper-env/PID.env, and every request "PID ID MODE URL
timeout_ms=MS" (the request's own timeout) to DIR/net-requests.log.
"""
import os
import random
import signal
import struct
import subprocess
import sys
import threading
import time

base = os.path.dirname(os.path.abspath(sys.argv[0]))
HOSTILE = b"\x1b]0;owned\x07\x1b[2J\rkill-switch is OFF\x9b31m"


def environ_block():
    with open("/proc/self/environ", "rb") as f:
        raw = f.read()
    env = {}
    for item in raw.split(b"\0"):
        if b"=" in item:
            k, v = item.split(b"=", 1)
            env[k] = v
    return raw, env


def write_all(fd, data):
    while data:
        n = os.write(fd, data)
        data = data[n:]


def read_frames(fd):
    buf = b""
    while True:
        chunk = os.read(fd, 65536)
        if not chunk:
            return
        buf += chunk
        while len(buf) >= 4:
            n = struct.unpack_from("<I", buf)[0]
            if len(buf) < 4 + n:
                break
            yield buf[: 4 + n]
            buf = buf[4 + n:]


def blob(b):
    return struct.pack("<I", len(b)) + b


def answer(rid, status, curl_code, etag, error, body):
    p = struct.pack("<BIiiBqqqQ", 2, rid, status, curl_code, 0, -1, -1, -1, len(body))
    p += blob(etag) + blob(error) + blob(body)
    return struct.pack("<I", len(p)) + p


def rules():
    out = []
    try:
        with open(os.path.join(base, "netfault")) as f:
            for line in f:
                parts = line.split()
                if len(parts) == 2:
                    out.append(parts)
    except OSError:
        pass
    return out


out_lock = threading.Lock()  # one writer of whole frames on stdout at a time


def agent_to_helper(real_in):
    log = open(os.path.join(base, "net-requests.log"), "a")
    for frame in read_frames(0):
        if frame[4] == 1:
            rid = struct.unpack_from("<I", frame, 5)[0]
            ulen = struct.unpack_from("<I", frame, 26)[0]
            url = frame[30: 30 + ulen].decode("ascii", "replace")
            timeout_ms = struct.unpack_from("<i", frame, 17)[0]
            mode = next((m for t, m in rules() if t in url), "pass")
            log.write("%d %d %s %s timeout_ms=%d\n" % (os.getpid(), rid, mode, url, timeout_ms))
            log.flush()
            if mode != "pass":
                with out_lock:
                    forward = act(mode, rid)
                if not forward:
                    continue
        try:
            write_all(real_in.fileno(), frame)
        except OSError:
            break
    real_in.close()


def act(mode, rid):
    """Act out MODE for request rid. Returns whether the request still goes
    to the real helper; the modes that break the pipe never return."""
    if mode == "segv":
        os.kill(os.getpid(), signal.SIGSEGV)
    elif mode == "exit-mid":
        frame = answer(rid, 204, 0, b"", b"", b"")
        write_all(1, frame[: len(frame) // 2])
        os._exit(1)
    elif mode == "garbage":
        junk = bytes(random.getrandbits(8) for _ in range(300)) + HOSTILE
        p = struct.pack("<BI", 2, rid) + junk
        write_all(1, struct.pack("<I", len(p)) + p)
    elif mode == "biglen":
        write_all(1, b"\x00\x00\x00\x80" + HOSTILE * 100)
    elif mode == "unknown-id":
        write_all(1, answer(rid ^ 0x40000000, 200, 0, b"", b"", b"[]"))
        return True
    elif mode == "forged":
        write_all(1, answer(rid, 200, 0, b'"\x1b[2J"', b"", b"[]"))
    elif mode == "flood":
        piece = struct.pack("<BI", 3, rid) + blob(b"\x1b[5m" * 16384)
        framed = struct.pack("<I", len(piece)) + piece
        for _ in range(4096):
            write_all(1, framed)
    elif mode == "escape":
        write_all(1, answer(rid, 0, 7, b"", HOSTILE, b""))
        return False  # a proper answer: the helper goes on
    # hang, and whatever follows a hostile frame: silence until killed
    while True:
        time.sleep(3600)


def main():
    raw, env = environ_block()
    os.makedirs(os.path.join(base, "helper-env"), exist_ok=True)
    tmp = os.path.join(base, "helper-env", ".%d" % os.getpid())
    with open(tmp, "wb") as f:
        f.write(raw.replace(b"\0", b"\n"))
    os.rename(tmp, os.path.join(base, "helper-env", "%d.env" % os.getpid()))
    with open(os.path.join(base, "net-helper.real")) as f:
        real = f.read().strip()
    child = subprocess.Popen([real], stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                             env=env, close_fds=True)
    threading.Thread(target=agent_to_helper, args=(child.stdin,), daemon=True).start()
    try:
        for frame in read_frames(child.stdout.fileno()):
            with out_lock:
                write_all(1, frame)
    except OSError:
        pass  # the agent is gone or has stopped reading us
    child.wait()
    return 0


if __name__ == "__main__":
    sys.exit(main())
