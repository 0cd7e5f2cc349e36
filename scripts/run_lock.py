#!/usr/bin/env python3
"""scripts/run_lock.py: the scripts' side of cnn-train's run lock (Sources/Training/RunLock.swift).

cnn-train holds an fcntl write lock on DIR/train.lock while it trains, and writes there one line,
"pid=PID host=HOST since=TIME". This asks about that lock without disturbing it:

  run_lock.py holder DIR          prints "DIR is being trained by PID on HOST since TIME" and exits 0 when a
                                  process holds the lock (asked with F_GETLK, which never takes it), else exits 1
  run_lock.py clean DIR FILE...   takes the lock for a moment, removes FILE... (relative to DIR; folders too),
                                  and lets it go; exits 75 with the line above when another process holds it,
                                  so a sweep never deletes the files of a run that is being trained

Standard library only; Linux and macOS (the layout of struct flock differs). Takes milliseconds.
"""
import fcntl
import os
import shutil
import struct
import sys

LOCK_FILE = "train.lock"


def pack_flock(kind):
    """A struct flock for the whole file: F_WRLCK or F_UNLCK, SEEK_SET, start 0, length 0."""
    if sys.platform == "darwin":
        return struct.pack("@qqihh", 0, 0, 0, kind, os.SEEK_SET)   # start, len, pid, type, whence
    return struct.pack("@hhqqi4x", kind, os.SEEK_SET, 0, 0, 0)     # type, whence, start, len, pid (Linux)


def unpack_flock(data):
    """(type, pid) of a struct flock."""
    if sys.platform == "darwin":
        _, _, pid, kind, _ = struct.unpack("@qqihh", data)
    else:
        kind, _, _, _, pid = struct.unpack("@hhqqi4x", data)
    return kind, pid


def describe(directory, pid):
    """The line cnn-train prints for a busy run directory, from train.lock's contents."""
    fields = {}
    try:
        with open(os.path.join(directory, LOCK_FILE)) as f:
            for word in f.read().split():
                key, _, value = word.partition("=")
                fields[key] = value
    except OSError:
        pass
    if not {"pid", "host", "since"} <= fields.keys():
        fields = {"pid": str(pid), "host": "an unknown host", "since": "an unknown time"}
    return f"{directory} is being trained by {fields['pid']} on {fields['host']} since {fields['since']}"


def holder(directory):
    """The busy line when another process holds DIR's lock, else None. Never takes the lock."""
    try:
        fd = os.open(os.path.join(directory, LOCK_FILE), os.O_RDONLY)
    except OSError:
        return None
    try:
        kind, pid = unpack_flock(fcntl.fcntl(fd, fcntl.F_GETLK, pack_flock(fcntl.F_WRLCK)))
    except OSError:
        return None
    finally:
        os.close(fd)
    return None if kind == fcntl.F_UNLCK else describe(directory, pid)


def clean(directory, names):
    """Removes `names` from DIR under its lock; the busy line when another process holds it."""
    fd = os.open(os.path.join(directory, LOCK_FILE), os.O_RDWR | os.O_CREAT, 0o644)
    try:
        try:
            fcntl.lockf(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError:
            try:
                _, pid = unpack_flock(fcntl.fcntl(fd, fcntl.F_GETLK, pack_flock(fcntl.F_WRLCK)))
            except OSError:
                pid = 0
            return describe(directory, pid)
        for name in names:
            path = os.path.join(directory, name)
            if os.path.isdir(path) and not os.path.islink(path):
                shutil.rmtree(path)
            elif os.path.lexists(path):
                os.unlink(path)
        return None
    finally:
        os.close(fd)   # closing the descriptor releases the lock


def main(argv):
    if len(argv) >= 2 and argv[0] == "holder":
        line = holder(argv[1].rstrip("/") or "/")
        if line:
            print(line)
        return 0 if line else 1
    if len(argv) >= 2 and argv[0] == "clean":
        line = clean(argv[1].rstrip("/") or "/", argv[2:])
        if line:
            print(line)
            return 75
        return 0
    print("usage: run_lock.py holder DIR | clean DIR FILE...", file=sys.stderr)
    return 64


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
