#!/usr/bin/env python3
"""The load test: a bare axum service, the same behind two pass-through layers placed as ours
are (what axum's boxing of a layered route costs any middleware), ours (token cache on and off,
and with an opaque token verified by introspection, its answer cached) and jwt-authorizer, the
same route and response body, measured in turn for several rounds (A B C D, A B C D, ...) so
that the machine's drift hits all alike. Each of ours is compared with bare sent the same
requests (the same token header, or the same rotation script). Prints req/s, the ratio to bare and p50/p99 latency
(medians over the rounds), and the server's CPU time per request (user + system, read from
/proc: steadier than req/s on a shared machine, and it says where a ratio comes from); then a
flood of 100,000 distinct users' tokens through ours; then a key rotation under load: ours
takes its keys from an IdP's JWKS that rotates every few seconds (`--rotation-period`), while
wrk sends tokens of the old and the new key, each only while it is valid: every non-2xx
answer is a failure of the rotation, reported with the p99 of the run.

    python3 benches/load/run.py [--rounds 5] [--duration 10] [--connections 16] [--workers N]
                                [--flood 100000] [--rotation-period 4] [--rotations 8]

`--rounds 0` skips the table, `--flood 0` the flood, `--rotations 0` the rotation run.

`--workers` sets every server's tokio worker threads (default: one per core); with 1, wrk and
the server each have a core of their own on a 2-core machine.

Needs wrk (installed from Debian's packages when missing) and builds what it runs in release
mode. Loopback only. With the defaults it takes about 9 minutes on a 2-core machine, plus the
builds and the one-off signing of the flood's tokens (kept in target/load/ for a day).
"""

import argparse
import os
import re
import shutil
import statistics
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
WORK = ROOT / "target" / "load"
LUA = Path(__file__).resolve().parent / "rotate.lua"
ROTATION_LUA = Path(__file__).resolve().parent / "rotation.lua"
PEER = Path(__file__).resolve().parent / "jwt-authorizer"
TEST_KEY = ROOT / "src" / "test_util" / "test_only_public_key.pem"
OPAQUE = "0paque-load-t0ken-5f0c2a7e9b3d41c8a6e2f7b9d0c3a1e4"


def run(command, **kwargs):
    return subprocess.run(command, check=True, text=True, **kwargs)


def ensure_wrk():
    if shutil.which("wrk"):
        return
    run(["apt-get", "update", "-qq"])
    run(["apt-get", "install", "-y", "-qq", "wrk"], env={**os.environ, "DEBIAN_FRONTEND": "noninteractive"})


def build():
    out = run(
        ["cargo", "bench", "--bench", "load_server", "--features", "introspection,jwks", "--no-run"],
        cwd=ROOT, capture_output=True,
    )
    match = re.search(r"\((\S*load_server-[0-9a-f]+)\)", out.stderr)
    if not match:
        sys.exit("cannot find the load_server binary in cargo's output:\n" + out.stderr)
    server = Path(match.group(1))
    if not server.is_absolute():
        server = ROOT / server
    target = WORK / "peer-target"
    run(["cargo", "build", "--release", "--quiet", "--manifest-path", str(PEER / "Cargo.toml"),
         "--target-dir", str(target)])
    return server, target / "release" / "load-peer-jwt-authorizer"


def tokens(server, name, count, flat=False):
    path = WORK / name
    if not path.exists() or time.time() - path.stat().st_mtime > 20 * 3600:
        command = [str(server), "tokens", str(path), str(count)] + (["flat"] if flat else [])
        run(command)
    return path


class Server:
    def __init__(self, command, port, workers=None):
        self.port = port
        env = dict(os.environ)
        if workers:
            env["TOKIO_WORKER_THREADS"] = str(workers)
        self.process = subprocess.Popen(command, stdout=subprocess.DEVNULL, env=env)
        deadline = time.time() + 30
        while time.time() < deadline:
            probe = subprocess.run(["wrk", "-t1", "-c1", "-d1s", self.url()], capture_output=True)
            if probe.returncode == 0 and "Requests/sec" in probe.stdout.decode():
                return
            time.sleep(0.2)
        sys.exit(f"server on port {port} did not start")

    def url(self):
        return f"http://127.0.0.1:{self.port}/entries"

    def cpu_seconds(self):
        """User and system time the server has used so far."""
        # The fields after the command's closing parenthesis; utime and stime are 14 and 15.
        fields = Path(f"/proc/{self.process.pid}/stat").read_text().rsplit(")", 1)[1].split()
        return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")

    def rss_kib(self, field="VmRSS"):
        for line in Path(f"/proc/{self.process.pid}/status").read_text().splitlines():
            if line.startswith(field + ":"):
                return int(line.split()[1])
        return 0

    def stop(self):
        self.process.terminate()
        self.process.wait(timeout=10)


def wrk(server, duration, connections, header=None, rotate=None):
    """req/s, p50 and p99 latency (µs), and the server's CPU time per request (µs)."""
    url = server.url()
    command = ["wrk", "-t1", f"-c{connections}", f"-d{duration}s", "--latency", url]
    if header:
        command[4:4] = ["-H", header]
    if rotate:
        command[4:4] = ["-s", str(LUA)]
        command += ["--"] + rotate
    cpu_before = server.cpu_seconds()
    out = run(command, capture_output=True).stdout
    cpu = server.cpu_seconds() - cpu_before
    non_2xx = re.search(r"Non-2xx or 3xx responses: (\d+)", out)
    if non_2xx:
        sys.exit(f"{url}: {non_2xx.group(1)} refused requests:\n{out}")
    rps = float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1))
    requests = int(re.search(r"(\d+) requests in", out).group(1))
    return rps, latency(out, "50%"), latency(out, "99%"), cpu / requests * 1e6


def latency(out, percentile):
    value, unit = re.search(rf"{percentile}\s+([\d.]+)(us|ms|s)", out).groups()
    return float(value) * {"us": 1, "ms": 1000, "s": 1_000_000}[unit]


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--duration", type=int, default=10)
    parser.add_argument("--connections", type=int, default=16)
    parser.add_argument("--flood", type=int, default=100_000)
    parser.add_argument("--workers", type=int, default=None)
    parser.add_argument("--rotation-period", type=int, default=4)
    parser.add_argument("--rotations", type=int, default=8)
    args = parser.parse_args()
    WORK.mkdir(parents=True, exist_ok=True)
    ensure_wrk()
    server, peer = build()
    if args.rounds > 0:
        table(server, peer, args)
    if args.flood > 0:
        flood_run(server, args)
    if args.rotations > 0:
        rotation_run(server, args)


def table(server, peer, args):
    one = tokens(server, "one.txt", 1).read_text().strip()
    flat = tokens(server, "flat.txt", 1, flat=True).read_text().strip()
    users = tokens(server, "users.txt", 1000)

    servers = {
        "bare": Server([str(server), "bare", "18081"], 18081, args.workers),
        "layered": Server([str(server), "layered", "18087"], 18087, args.workers),
        "ours": Server([str(server), "ours", "18082", "10000"], 18082, args.workers),
        "ours_nocache": Server([str(server), "ours", "18083", "0"], 18083, args.workers),
        "peer": Server([str(peer), str(TEST_KEY), "18084"], 18084, args.workers),
        "introspected": Server([str(server), "introspected", "18086"], 18086, args.workers),
    }
    rotate = [str(users), "X-Auth-Token"]
    runs = {
        "bare axum, no auth": lambda d: wrk(servers["bare"], d, args.connections, "X-Auth-Token: " + one),
        "bare axum behind two pass-through layers placed as ours": lambda d: wrk(servers["layered"], d, args.connections, "X-Auth-Token: " + one),
        "ours, one token (cache on)": lambda d: wrk(servers["ours"], d, args.connections, "X-Auth-Token: " + one),
        "ours, one token (cache off)": lambda d: wrk(servers["ours_nocache"], d, args.connections, "X-Auth-Token: " + one),
        "jwt-authorizer 0.15, one token": lambda d: wrk(servers["peer"], d, args.connections, "Authorization: Bearer " + flat),
        "bare axum, the opaque token's header": lambda d: wrk(servers["bare"], d, args.connections, "X-Auth-Token: " + OPAQUE),
        "ours, one opaque token by introspection (answer cached)": lambda d: wrk(servers["introspected"], d, args.connections, "X-Auth-Token: " + OPAQUE),
        "bare axum, 1,000 users' tokens in rotation": lambda d: wrk(servers["bare"], d, args.connections, rotate=rotate),
        "ours, 1,000 users' tokens in rotation (cache on)": lambda d: wrk(servers["ours"], d, args.connections, rotate=rotate),
    }
    results = {name: [] for name in runs}
    try:
        for round_ in range(args.rounds):
            for name, measure in runs.items():
                results[name].append(measure(args.duration))
            print(f"round {round_ + 1} of {args.rounds} done", file=sys.stderr)
    finally:
        for s in servers.values():
            s.stop()

    median = {name: tuple(statistics.median(r[i] for r in rs) for i in range(4)) for name, rs in results.items()}
    bare = median["bare axum, no auth"][0]
    bare_rotation = median["bare axum, 1,000 users' tokens in rotation"][0]
    peer_rps = median["jwt-authorizer 0.15, one token"][0]
    # The opaque token is 50 bytes, the JWT about 700: each is compared with bare sent the same.
    bare_opaque = median["bare axum, the opaque token's header"][0]
    workers = f"{args.workers} worker thread(s)" if args.workers else "one worker thread per core"
    print(f"\nmedian of {args.rounds} rounds, wrk -t1 -c{args.connections} -d{args.duration}s, loopback, {workers}\n")
    print("| server | req/s | ratio | p50 | p99 | server CPU per request |")
    print("| --- | --- | --- | --- | --- | --- |")
    for name, (rps, p50, p99, cpu) in median.items():
        if "opaque" in name:
            ratio = f"{rps / bare_opaque:.2f} of bare with that header"
        elif "rotation" in name:
            ratio = f"{rps / bare_rotation:.2f} of bare with the script"
        elif "cache off" in name:
            ratio = f"{rps / bare:.2f} of bare; {rps / peer_rps:.2f} × jwt-authorizer"
        else:
            ratio = f"{rps / bare:.2f} of bare"
        print(f"| {name} | {rps:,.0f} | {ratio} | {p50:.0f} µs | {p99:.0f} µs | {cpu:.2f} µs |")


def flood_run(server, args):
    flood_tokens = tokens(server, "flood.txt", args.flood)
    flood = Server([str(server), "ours", "18085", "10000"], 18085, args.workers)
    try:
        samples = []
        process = subprocess.Popen(
            ["wrk", "-t1", f"-c{args.connections}", f"-d{3 * args.duration}s", "-s", str(LUA), flood.url(),
             "--", str(flood_tokens), "X-Auth-Token"],
            stdout=subprocess.PIPE, text=True,
        )
        while process.poll() is None:
            samples.append(flood.rss_kib())
            time.sleep(1)
        out = process.stdout.read()
        peak = flood.rss_kib("VmHWM")
        steady = flood.rss_kib()
    finally:
        flood.stop()
    rps = float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1))
    print(f"\nflood: {args.flood:,} distinct users' tokens in rotation through ours (cache 10,000 entries):"
          f" {rps:,.0f} req/s; resident memory peak {peak / 1024:.1f} MiB, at the end {steady / 1024:.1f} MiB"
          f" (sampled each second: {min(samples) / 1024:.1f} to {max(samples) / 1024:.1f} MiB)")


def rotation_run(server, args):
    """Ours behind a rotating IdP: non-2xx answers (target 0) and latency during rotations."""
    period, rotations = args.rotation_period, args.rotations
    rotation_tokens = WORK / "rotation.txt"
    run([str(server), "rotation-tokens", str(rotation_tokens), str(rotations + 2)])
    start = int(time.time()) + 3
    idp_log = (WORK / "idp.log").open("w")
    idp = subprocess.Popen([str(server), "idp", "18088", str(start), str(period)], stdout=idp_log)
    try:
        time.sleep(0.5)
        ours = Server([str(server), "ours-jwks", "18089", "http://127.0.0.1:18088/jwks"], 18089, args.workers)
        try:
            time.sleep(max(start - time.time(), 0))
            duration = rotations * period + period - 1
            command = ["wrk", "-t1", f"-c{args.connections}", f"-d{duration}s", "--latency", "-s",
                       str(ROTATION_LUA), ours.url(), "--", str(rotation_tokens), str(start), str(period)]
            out = run(command, capture_output=True).stdout
        finally:
            ours.stop()
    finally:
        idp.terminate()
        idp.wait(timeout=10)
        idp_log.close()
    non_2xx = re.search(r"Non-2xx or 3xx responses: (\d+)", out)
    errors = re.search(r"Socket errors: (.*)", out)
    requests = int(re.search(r"(\d+) requests in", out).group(1))
    rps = float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1))
    fetches = (WORK / "idp.log").read_text().count("fetch ")
    print(f"\nkey rotation under load: the IdP rotated every {period} s, {rotations} times in {duration} s;"
          f" {requests:,} requests ({rps:,.0f} req/s) with tokens of the old and the new key;"
          f" non-2xx answers: {int(non_2xx.group(1)) if non_2xx else 0}"
          f"{'; socket errors: ' + errors.group(1) if errors else ''};"
          f" p50 {latency(out, '50%'):.0f} µs, p99 {latency(out, '99%'):.0f} µs;"
          f" JWKS fetches: {fetches} (one at start, then one per rotation)")


if __name__ == "__main__":
    main()
