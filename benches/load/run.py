#!/usr/bin/env python3
"""The load test: a bare axum service, the same behind two pass-through layers placed as ours
are (what axum's boxing of a layered route costs any middleware), ours (token cache on and off;
the route's layer bound to the enforcer instead of a router layer; one and ten trusted issuers; an opaque token verified by introspection, its answer cached), and
two peers, jwt-authorizer and tower-oauth2-resource-server: the same route and response body,
measured in turn for several rounds (A B C D, A B C D, ...) so that the machine's drift hits
all alike. Each of ours is compared with bare sent the same requests (the same token header,
or the same rotation script). Prints req/s, the ratios and p50/p99 latency (medians over the
rounds), and the server's CPU time per request (user + system, read from /proc: steadier than
req/s on a shared machine, and it says where a ratio comes from; the figure of record).

Then, each on its own: single flight (distinct opaque tokens, each sent by every connection at
once, through an IdP stand-in answering in 20 ms: the IdP must be asked once per token); a
1 MiB ACL map rewritten every second under load (p99 against rounds without rewrites);
`build()` with a 100,000-rule map (time and memory); a flood of 100,000 distinct users' tokens
through ours; a key rotation under load: ours takes its keys from an IdP's JWKS that rotates
every few seconds (`--rotation-period`), while wrk sends tokens of the old and the new key,
each only while it is valid: every non-2xx answer is a failure of the rotation.

    python3 benches/load/run.py [--rounds 5] [--duration 10] [--connections 16] [--workers N]
                                [--baseline OTHER_LOAD_SERVER] [--single-flight 100]
                                [--no-reload] [--build-map 100000] [--flood 100000]
                                [--rotation-period 4] [--rotations 8] [--only PART]

`--rounds 0` skips the table and the reload run, `--single-flight 0`, `--build-map 0`,
`--flood 0` and `--rotations 0` their runs; `--only table` (or single-flight, reload,
build-map, flood, rotation) runs that part alone. `--baseline` adds a row for another build of
this crate (its `load_server` binary, e.g. built in a worktree of an older commit with
`cargo bench --bench load_server --features introspection,jwks --no-run`): before and after
side by side in one run.

`--workers` sets every server's tokio worker threads (default: one per core); with 1, wrk and
the server each have a core of their own on a 2-core machine.

Needs wrk (installed from Debian's packages when missing) and builds what it runs in release
mode. Loopback only. With the defaults it takes about 17 minutes on a 2-core machine, plus the
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
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
WORK = ROOT / "target" / "load"
LUA = Path(__file__).resolve().parent / "rotate.lua"
ROTATION_LUA = Path(__file__).resolve().parent / "rotation.lua"
DPOP_LUA = Path(__file__).resolve().parent / "dpop.lua"
PEER = Path(__file__).resolve().parent / "jwt-authorizer"
PEER2 = Path(__file__).resolve().parent / "tower-oauth2-resource-server"
TEST_KEY = ROOT / "src" / "test_util" / "test_only_public_key.pem"
OPAQUE = "0paque-load-t0ken-5f0c2a7e9b3d41c8a6e2f7b9d0c3a1e4"
RULE = "micros1.entries.list"
JWT_AUTHORIZER = "jwt-authorizer 0.15, one token"
TORS = "tower-oauth2-resource-server 0.12.5, one token"
BASELINE = "ours as the --baseline build, one token (cache on)"
# The same route guarded by the layer bound to the enforcer: no router layer, so no enforcer
# in each request's extensions and one boxed layer less.
BOUND = "ours with the bound layer (`enforcer.require`, no router layer), one token (cache on)"


def run(command, **kwargs):
    return subprocess.run(command, check=True, text=True, **kwargs)


def ensure_installed(command):
    """Installs `command` from Debian's package of the same name when it is missing."""
    if shutil.which(command):
        return
    run(["apt-get", "update", "-qq"])
    run(["apt-get", "install", "-y", "-qq", command], env={**os.environ, "DEBIAN_FRONTEND": "noninteractive"})


def build_load_server(extra_args=(), env=None):
    """Builds the load server (`cargo bench --no-run`, with `extra_args`) and returns its path."""
    out = run(
        ["cargo", "bench", "--bench", "load_server", "--features", "introspection,jwks", "--no-run",
         *extra_args],
        cwd=ROOT, capture_output=True, env=env,
    )
    match = re.search(r"\((\S*load_server-[0-9a-f]+)\)", out.stderr)
    if not match:
        sys.exit("cannot find the load_server binary in cargo's output:\n" + out.stderr)
    server = Path(match.group(1))
    return server if server.is_absolute() else ROOT / server


def build():
    server = build_load_server()
    peers = {}
    for crate, target in ((PEER, "peer-target"), (PEER2, "peer2-target")):
        run(["cargo", "build", "--release", "--quiet", "--manifest-path", str(crate / "Cargo.toml"),
             "--target-dir", str(WORK / target)])
        peers[crate.name] = WORK / target / "release" / f"load-peer-{crate.name}"
    return server, peers


def tokens(server, name, count, kind="tokenleader"):
    """A file of `count` tokens of `kind` (see load_server's header), made again after 20 h."""
    path = WORK / name
    if not path.exists() or time.time() - path.stat().st_mtime > 20 * 3600:
        run([str(server), "tokens", str(path), str(count), kind])
    return path


class Server:
    def __init__(self, command, port, workers=None, stdout=subprocess.DEVNULL):
        self.port = port
        env = dict(os.environ)
        if workers:
            env["TOKIO_WORKER_THREADS"] = str(workers)
        self.process = subprocess.Popen(command, stdout=stdout, env=env)
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


def wrk(server, duration, connections, header=None, rotate=None, script=LUA):
    """req/s, p50 and p99 latency (µs), and the server's CPU time per request (µs)."""
    url = server.url()
    command = ["wrk", "-t1", f"-c{connections}", f"-d{duration}s", "--latency", url]
    if header:
        command[4:4] = ["-H", header]
    if rotate:
        command[4:4] = ["-s", str(script)]
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
    parser.add_argument("--single-flight", type=int, default=100)
    parser.add_argument("--reload", action=argparse.BooleanOptionalAction, default=True)
    parser.add_argument("--build-map", type=int, default=100_000)
    parser.add_argument("--dpop-proofs", type=int, default=200_000,
                        help="proofs made for each DPoP round (more than a round sends)")
    parser.add_argument("--baseline", type=Path, default=None,
                        help="another build's load_server binary: its cached path measured beside this one's")
    parser.add_argument("--only", choices=["table", "single-flight", "reload", "build-map", "flood", "rotation", "dpop"])
    args = parser.parse_args()
    WORK.mkdir(parents=True, exist_ok=True)
    ensure_installed("wrk")
    server, peers = build()
    if args.only:
        {"table": lambda: table(server, peers, args),
         "single-flight": lambda: single_flight_run(server, args),
         "reload": lambda: reload_run(server, args),
         "build-map": lambda: build_map_run(server, args),
         "flood": lambda: flood_run(server, args),
         "rotation": lambda: rotation_run(server, args),
         "dpop": lambda: dpop_run(server, args)}[args.only]()
        return
    if args.rounds > 0:
        table(server, peers, args)
    if args.single_flight > 0:
        single_flight_run(server, args)
    if args.rounds > 0 and args.reload:
        reload_run(server, args)
    if args.rounds > 0 and args.dpop_proofs > 0:
        dpop_run(server, args)
    if args.build_map > 0:
        build_map_run(server, args)
    if args.flood > 0:
        flood_run(server, args)
    if args.rotations > 0:
        rotation_run(server, args)


def table(server, peers, args):
    one = tokens(server, "one.txt", 1).read_text().strip()
    flat = tokens(server, "flat.txt", 1, "flat").read_text().strip()
    flat_kid = tokens(server, "flat-kid.txt", 1, "flat-kid").read_text().strip()
    tenth = tokens(server, "issuer-9.txt", 1, "issuer-9").read_text().strip()
    users = tokens(server, "users.txt", 1000)

    servers = {
        "bare": Server([str(server), "bare", "18081"], 18081, args.workers),
        "layered": Server([str(server), "layered", "18087"], 18087, args.workers),
        "ours": Server([str(server), "ours", "18082", "10000"], 18082, args.workers),
        "ours_bound": Server([str(server), "ours-bound", "18097", "10000"], 18097, args.workers),
        "ours_nocache": Server([str(server), "ours", "18083", "0"], 18083, args.workers),
        "peer": Server([str(peers["jwt-authorizer"]), str(TEST_KEY), "18084"], 18084, args.workers),
        "peer2": Server([str(peers["tower-oauth2-resource-server"]), str(TEST_KEY), "load-key", "18090"],
                        18090, args.workers),
        # The stand-in answers each introspection after 20 ms, as an IdP across a network would.
        "introspected": Server([str(server), "introspected", "18086", "20"], 18086, args.workers),
        "one_issuer": Server([str(server), "ours-issuers", "18091", "1"], 18091, args.workers),
        **({"baseline": Server([str(args.baseline), "ours", "18096", "10000"], 18096, args.workers)}
           if args.baseline else {}),
        "ten_issuers": Server([str(server), "ours-issuers", "18092", "10"], 18092, args.workers),
    }
    rotate = [str(users), "X-Auth-Token"]
    runs = {
        "bare axum, no auth": lambda d: wrk(servers["bare"], d, args.connections, "X-Auth-Token: " + one),
        "bare axum behind two pass-through layers placed as ours": lambda d: wrk(servers["layered"], d, args.connections, "X-Auth-Token: " + one),
        "ours, one token (cache on)": lambda d: wrk(servers["ours"], d, args.connections, "X-Auth-Token: " + one),
        BOUND: lambda d: wrk(servers["ours_bound"], d, args.connections, "X-Auth-Token: " + one),
        **({BASELINE: lambda d: wrk(servers["baseline"], d, args.connections, "X-Auth-Token: " + one)}
           if args.baseline else {}),
        "ours, one token (cache off)": lambda d: wrk(servers["ours_nocache"], d, args.connections, "X-Auth-Token: " + one),
        JWT_AUTHORIZER: lambda d: wrk(servers["peer"], d, args.connections, "Authorization: Bearer " + flat),
        TORS: lambda d: wrk(servers["peer2"], d, args.connections, "Authorization: Bearer " + flat_kid),
        "ours, one issuer trusted, an OpenID-shaped token (cache on)": lambda d: wrk(servers["one_issuer"], d, args.connections, "X-Auth-Token: " + tenth),
        "ours, ten issuers trusted, a token of the tenth (cache on)": lambda d: wrk(servers["ten_issuers"], d, args.connections, "X-Auth-Token: " + tenth),
        "bare axum, the opaque token's header": lambda d: wrk(servers["bare"], d, args.connections, "X-Auth-Token: " + OPAQUE),
        "ours, one opaque token by introspection (IdP answers in 20 ms; answer cached)": lambda d: wrk(servers["introspected"], d, args.connections, "X-Auth-Token: " + OPAQUE),
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
    bare = median["bare axum, no auth"]
    bare_rotation = median["bare axum, 1,000 users' tokens in rotation"][0]
    # The opaque token is 50 bytes, the JWT about 700: each is compared with bare sent the same.
    bare_opaque = median["bare axum, the opaque token's header"][0]
    cached = median["ours, one token (cache on)"][0]
    one_issuer_cpu = median["ours, one issuer trusted, an OpenID-shaped token (cache on)"][3]
    workers = f"{args.workers} worker thread(s)" if args.workers else "one worker thread per core"
    print(f"\nmedian of {args.rounds} rounds, wrk -t1 -c{args.connections} -d{args.duration}s, loopback, {workers}\n")
    print("| server | req/s | ratio | p50 | p99 | server CPU per request |")
    print("| --- | --- | --- | --- | --- | --- |")
    for name, (rps, p50, p99, cpu) in median.items():
        if "opaque" in name and "ours" in name:
            ratio = f"{rps / bare_opaque:.2f} of bare with that header; {rps / cached:.2f} of ours with a local JWT"
        elif "opaque" in name:
            ratio = f"{rps / bare_opaque:.2f} of bare"
        elif "rotation" in name:
            ratio = f"{rps / bare_rotation:.2f} of bare with the script"
        elif "cache off" in name:
            peers_ratio = "; ".join(
                f"{rps / median[peer][0]:.2f} × {peer.split(',')[0]} ({median[peer][3] / cpu:.2f} × by CPU)"
                for peer in (JWT_AUTHORIZER, TORS)
            )
            ratio = f"{rps / bare[0]:.2f} of bare; {peers_ratio}"
        elif "ten issuers" in name:
            ratio = f"{rps / bare[0]:.2f} of bare; {cpu - one_issuer_cpu:+.2f} µs of CPU over one issuer"
        else:
            ratio = f"{rps / bare[0]:.2f} of bare"
        overhead = f" ({cpu - bare[3]:+.2f} over bare)" if name.startswith(("ours, one token", "bare axum behind", BASELINE, BOUND)) else ""
        print(f"| {name} | {rps:,.0f} | {ratio} | {p50:.0f} µs | {p99:.0f} µs | {cpu:.2f} µs{overhead} |")


def dpop_run(server, args):
    """DPoP: a bound token (cached) with a new ES256 proof per request, against bare axum sent
    the same headers and ours with a bearer token. The DPoP server starts afresh each round,
    its replay store empty, and the proofs file serves every round once."""
    ours_port, dpop_port = 18098, 18099
    proofs = WORK / "dpop-proofs.txt"
    run([str(server), "dpop-proofs", str(proofs), str(args.dpop_proofs), str(dpop_port)])
    one = tokens(server, "one.txt", 1).read_text().strip()
    bare = Server([str(server), "bare", "18097"], 18097, args.workers)
    ours = Server([str(server), "ours", str(ours_port), "10000"], ours_port, args.workers)
    names = ["bare axum, the DPoP headers", "ours, bearer token (cache on)",
             "ours, DPoP-bound token with a new proof per request (token cached)"]
    results = {name: [] for name in names}
    try:
        for round_ in range(args.rounds):
            results[names[0]].append(wrk(bare, args.duration, args.connections,
                                         rotate=[str(proofs)], script=DPOP_LUA))
            results[names[1]].append(wrk(ours, args.duration, args.connections, "X-Auth-Token: " + one))
            dpop = Server([str(server), "ours-dpop", str(dpop_port)], dpop_port, args.workers)
            try:
                results[names[2]].append(wrk(dpop, args.duration, args.connections,
                                             rotate=[str(proofs)], script=DPOP_LUA))
            finally:
                dpop.stop()
            print(f"DPoP round {round_ + 1} of {args.rounds} done", file=sys.stderr)
    finally:
        bare.stop()
        ours.stop()
    median = {name: tuple(statistics.median(r[i] for r in rs) for i in range(4)) for name, rs in results.items()}
    bare_rps, bare_cpu = median[names[0]][0], median[names[0]][3]
    bearer_cpu = median[names[1]][3]
    print(f"\nDPoP, median of {args.rounds} rounds, wrk -t1 -c{args.connections} -d{args.duration}s\n")
    print("| server | req/s | ratio | p50 | p99 | server CPU per request |")
    print("| --- | --- | --- | --- | --- | --- |")
    for name, (rps, p50, p99, cpu) in median.items():
        extra = f" ({cpu - bare_cpu:+.2f} over bare" + (f", {cpu - bearer_cpu:+.2f} over bearer)" if "DPoP-bound" in name else ")")
        print(f"| {name} | {rps:,.0f} | {rps / bare_rps:.2f} of bare | {p50:.0f} µs | {p99:.0f} µs | {cpu:.2f} µs{extra} |")


def single_flight_run(server, args):
    """Distinct opaque tokens, each sent by every connection at once, through an IdP stand-in
    that answers in 20 ms: the IdP must be asked once per token (single flight), no more."""
    distinct, connections = args.single_flight, args.connections
    path = WORK / "opaque.txt"
    # Each token `connections` times in a row: the connections ask for it together.
    path.write_text("".join(f"opaque-{i:06d}-{OPAQUE}\n" * connections for i in range(distinct)))
    ours = Server([str(server), "introspected", "18093", "20", "18094"], 18093, args.workers)
    try:
        before = idp_calls(18094)
        command = ["wrk", "-t1", f"-c{connections}", f"-d{args.duration}s", "--latency", "-s", str(LUA),
                   ours.url(), "--", str(path), "X-Auth-Token"]
        out = run(command, capture_output=True).stdout
        calls = idp_calls(18094) - before
    finally:
        ours.stop()
    requests = int(re.search(r"(\d+) requests in", out).group(1))
    non_2xx = re.search(r"Non-2xx or 3xx responses: (\d+)", out)
    slowest = re.search(r"Latency\s+\S+\s+\S+\s+([\d.]+)(us|ms|s)", out)
    slowest_ms = float(slowest.group(1)) * {"us": 0.001, "ms": 1, "s": 1000}[slowest.group(2)]
    if requests < distinct * connections:
        print(f"single flight: only {requests:,} requests in {args.duration} s, fewer than the"
              f" {distinct * connections:,} that reach every token once: raise --duration", file=sys.stderr)
    print(f"\nsingle flight: {distinct:,} opaque tokens, each sent by {connections} connections at once,"
          f" IdP stand-in answering in 20 ms: {requests:,} requests in {args.duration} s;"
          f" the IdP was asked {calls:,} times"
          f" ({'one call per token' if calls == distinct else 'NOT one call per token'});"
          f" non-2xx answers: {int(non_2xx.group(1)) if non_2xx else 0};"
          f" the slowest request {slowest_ms:.1f} ms (one call: 20 ms)")


def idp_calls(port):
    """How many times the introspection stand-in on `port` has been asked."""
    with urllib.request.urlopen(f"http://127.0.0.1:{port}/calls", timeout=10) as answer:
        return int(answer.read())


def acl_map_yaml(revision, size=1_000_000):
    """An ACL map of about `size` bytes: the load test's grant, then roles of short-named
    rules; `revision` changes one grant, so each revision is a different map."""
    lines = [f"- name: reader\n  allow: [{RULE}, revision{revision}.rule]\n"]
    total, role = len(lines[0]), 0
    while total < size - 1000:
        names = ", ".join(f"r{role:x}x{rule:x}" for rule in range(100))
        line = f"- name: role{role}\n  allow: [{names}]\n"
        lines.append(line)
        total += len(line)
        role += 1
    return "".join(lines)


def reload_run(server, args):
    """Ours with a 1 MiB map that is rewritten every second under load, against the same
    server in rounds without rewrites: p99 latency (target: within 10 %) and reloads applied."""
    acl = WORK / "acl-1mib.yml"
    acl.write_text(acl_map_yaml(0))
    size = acl.stat().st_size
    log_path = WORK / "reload.log"
    with log_path.open("w") as log:
        ours = Server([str(server), "ours-reload", "18095", str(acl)], 18095, args.workers, stdout=log)
        header = "X-Auth-Token: " + tokens(server, "one.txt", 1).read_text().strip()
        results = {"without reloads": [], "reloaded every second": []}
        revision = 0
        try:
            for _ in range(args.rounds):
                results["without reloads"].append(wrk(ours, args.duration, args.connections, header))
                # Written before the round: making a 1 MiB map in Python takes a good part of
                # a second of CPU, which would be counted against the reloads.
                for i in range(1, args.duration + 1):
                    Path(f"{acl}.{i}").write_text(acl_map_yaml(revision + i))
                writer = subprocess.Popen([sys.executable, "-c", REWRITER, str(acl), str(args.duration)])
                results["reloaded every second"].append(wrk(ours, args.duration, args.connections, header))
                writer.wait(timeout=args.duration + 30)
                revision += args.duration
                # The last rewrite's reload ends before the next quiet round.
                time.sleep(2)
        finally:
            ours.stop()
    reloads = log_path.read_text().count("reloaded")
    refused = log_path.read_text().count("refused")
    median = {name: tuple(statistics.median(r[i] for r in rs) for i in range(4)) for name, rs in results.items()}
    quiet, busy = median["without reloads"], median["reloaded every second"]
    print(f"\nACL map of {size / 1048576:.2f} MiB rewritten every second under load"
          f" (median of {args.rounds} rounds; {reloads} reloads applied, {refused} refused):"
          f" p99 {busy[2]:.0f} µs against {quiet[2]:.0f} µs without rewrites ({busy[2] / quiet[2] - 1:+.0%}),"
          f" p50 {busy[1]:.0f} against {quiet[1]:.0f} µs, {busy[0]:,.0f} against {quiet[0]:,.0f} req/s,"
          f" server CPU per request {busy[3]:.2f} against {quiet[3]:.2f} µs")


# Puts a new revision of the map in place once a second for DURATION seconds (written
# beforehand as PATH.1, PATH.2, ...), renamed into place as an editor or a deployment writes it.
REWRITER = """
import os, sys, time
path, duration = sys.argv[1], int(sys.argv[2])
for i in range(1, duration + 1):
    time.sleep(1)
    os.replace(f"{path}.{i}", path)
"""


def build_map_run(server, args):
    run([str(server), "build-map", str(args.build_map)])


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
