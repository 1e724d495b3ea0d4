"""Helpers for secprof test cases written in Python (stdlib only)."""
import hashlib
import json
import os
import subprocess
import threading


def records(path, event=None):
    """All records of an access log, optionally of one event."""
    out = []
    with open(path, "rb") as f:
        for raw in f:
            assert raw.endswith(b"\n"), "torn line in %s" % path
            r = json.loads(raw)
            if event is None or r["event"] == event:
                out.append(r)
    return out


def blob_sha256(repo, blob):
    data = subprocess.run(["git", "-C", repo, "cat-file", "blob", blob],
                          check=True, capture_output=True).stdout
    return hashlib.sha256(data).hexdigest(), data


def read_file(path):
    with open(path, "rb") as f:
        return f.read()


def parallel_opens(path, threads, per_thread):
    """Open, read and close path from many threads; returns the contents
    read and the errors seen (errno values)."""
    results, errors = [], []
    lock = threading.Lock()

    def work():
        for _ in range(per_thread):
            try:
                data = read_file(path)
                with lock:
                    results.append(data)
            except OSError as e:
                with lock:
                    errors.append(e.errno)

    ts = [threading.Thread(target=work) for _ in range(threads)]
    for t in ts:
        t.start()
    for t in ts:
        t.join()
    return results, errors
