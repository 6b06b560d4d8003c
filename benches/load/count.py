#!/usr/bin/env python3
"""Instructions and source files of one allowed, cached request, counted by callgrind: the
same count on every run, where the shared machine's timings move from run to run.

Each router of the load test (`load_server in-process MODE COUNT`: COUNT requests through
MODE's router on one thread, no network) runs under callgrind twice, with 2,000 and 12,000
requests; the difference divided by 10,000 is one request, without the start-up (key
generation, the runtime). Prints instructions per request for bare axum, the two
pass-through layers, ours with `.layer(enforcer)` + `RequireRule`, ours with the bound layer
(and `--baseline`'s `ours`, another build's `load_server`); then, for ours, the crate's source
files that run on that request (callgrind's line attribution: inlined code counts where it is
written), and for jwt-authorizer the same count of its own files (it has no cache: each of
its requests checks the RSA signature, so only its file count compares).

    python3 benches/load/count.py [--baseline OTHER_LOAD_SERVER]

Installs valgrind from Debian's packages when missing. Builds with line tables (for the file
attribution) into target/load/count-target and target/load/count-peer-target, apart from the
load test's builds; the instruction counts are those of the optimized code all the same.
About 7 minutes on a 2-core machine, the builds included.
"""

import argparse
import collections
import os
import re
import tempfile
from pathlib import Path

from run import PEER, ROOT, TEST_KEY, WORK, build_load_server, ensure_installed, run

# A file with fewer instructions per request than this runs only now and then (a cache's
# housekeeping), not on every request.
PER_REQUEST = 0.5


def build():
    """The load server and the jwt-authorizer peer, with line tables."""
    server = build_load_server(
        ["--target-dir", str(WORK / "count-target")],
        {**os.environ, "CARGO_PROFILE_BENCH_DEBUG": "line-tables-only"},
    )
    env = {**os.environ, "CARGO_PROFILE_RELEASE_DEBUG": "line-tables-only"}
    run(["cargo", "build", "--release", "--quiet", "--manifest-path", str(PEER / "Cargo.toml"),
         "--target-dir", str(WORK / "count-peer-target")], env=env)
    return server, WORK / "count-peer-target" / "release" / "load-peer-jwt-authorizer"


def callgrind(command, out_dir):
    """The callgrind output file of `command`."""
    handle, name = tempfile.mkstemp(prefix="callgrind.", dir=out_dir)
    os.close(handle)
    out = Path(name)
    run(["valgrind", "--tool=callgrind", f"--callgrind-out-file={out}", *command],
        capture_output=True)
    return out


def costs(path):
    """Instructions in total and by source file (the file a line is written in, inlined code
    included)."""
    names, by_file, total, current, call_line = {}, collections.Counter(), 0, None, False
    for line in path.read_text(errors="replace").splitlines():
        if line.startswith(("fl=", "fi=", "fe=", "cfi=", "cfl=")):
            key, value = line.split("=", 1)
            # Compressed names: "(n) name" the first time, "(n)" after.
            match = re.match(r"\((\d+)\)(?: (.*))?$", value)
            if match:
                if match.group(2):
                    names[match.group(1)] = match.group(2)
                value = names.get(match.group(1), value)
            if key in ("fl", "fi", "fe"):
                current = value
        elif line.startswith("calls="):
            call_line = True
        elif line[:1].isdigit() or line[:1] in "+-*":
            if call_line:
                # The cost of a call, counted where the callee's own lines are.
                call_line = False
                continue
            fields = line.split()
            if len(fields) >= 2 and current:
                by_file[current] += int(fields[1])
                total += int(fields[1])
    return total, by_file


def per_request(command, few, many, out_dir):
    """Instructions per request, and by file, from runs of `few` and `many` requests."""
    total_few, files_few = costs(callgrind([*command, str(few)], out_dir))
    total_many, files_many = costs(callgrind([*command, str(many)], out_dir))
    requests = many - few
    files = {name: (files_many[name] - files_few[name]) / requests for name in files_many}
    return (total_many - total_few) / requests, files


def own_files(files, prefix):
    """The files under `prefix` that run on every request, most instructions first."""
    own = [(name, count) for name, count in files.items()
           if name.startswith(prefix) and count >= PER_REQUEST]
    return sorted(own, key=lambda item: -item[1])


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--baseline", type=Path, default=None,
                        help="another build's load_server binary: its `ours` counted beside")
    args = parser.parse_args()
    WORK.mkdir(parents=True, exist_ok=True)
    ensure_installed("valgrind")
    server, peer = build()
    routers = {
        "bare axum": [str(server), "in-process", "bare"],
        "bare axum behind two pass-through layers placed as ours": [str(server), "in-process", "layered"],
        "ours (`.layer(enforcer)` + `RequireRule`)": [str(server), "in-process", "ours"],
        "ours with the bound layer (`enforcer.require`)": [str(server), "in-process", "ours-bound"],
    }
    if args.baseline:
        routers["ours as the --baseline build"] = [str(args.baseline), "in-process", "ours"]
    with tempfile.TemporaryDirectory() as out_dir:
        counted = {name: per_request(command, 2000, 12000, out_dir)
                   for name, command in routers.items()}
        token = WORK / "count-flat.txt"
        run([str(server), "tokens", str(token), "1", "flat"])
        # Each of the peer's requests is a full RSA check: fewer suffice.
        _, peer_files = per_request(
            [str(peer), "in-process", str(TEST_KEY), str(token)], 20, 120, out_dir)

    bare = counted["bare axum"][0]
    print("\ninstructions per allowed cached request (callgrind, in-process, "
          "12,000 minus 2,000 requests, divided by 10,000)\n")
    print("| router | instructions per request | over bare axum |")
    print("| --- | --- | --- |")
    for name, (instructions, _) in counted.items():
        over = f"{instructions - bare:+,.0f}" if name != "bare axum" else ""
        print(f"| {name} | {instructions:,.0f} | {over} |")
    src = str(ROOT / "src") + "/"
    for name, (_, files) in counted.items():
        if not name.startswith("ours") or "baseline" in name:
            continue
        own = own_files(files, src)
        print(f"\n{name}: {len(own)} source files of the crate on the request")
        for file, count in own:
            print(f"  {count:7,.0f}  src/{file[len(src):]}")
    peer_own = [(file, count) for file, count in peer_files.items()
                if "/jwt-authorizer-" in file and count >= PER_REQUEST]
    print(f"\njwt-authorizer 0.15, counted alike: {len(peer_own)} source files of its own")
    for file, count in sorted(peer_own, key=lambda item: -item[1]):
        print(f"  {count:7,.0f}  {file.split('/jwt-authorizer-', 1)[1]}")


if __name__ == "__main__":
    main()
