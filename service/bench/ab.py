#!/usr/bin/env python3
"""Two builds of the service, side by side, on the rows most sensitive to per-request work:
sign-in on SQLite at 1 connection and the creation-and-sign-in mix at 8, each run three times,
the builds alternating; prints every run and the medians. The servers and stores are those of
run.py (a fresh SQLite file per run); OLD and NEW are release directories holding
temporary-access-pass-graph-service (a copy of one, or another checkout's target/release).

    python3 service/bench/ab.py OLD_RELEASE_DIR NEW_RELEASE_DIR [--seconds 8]
"""
import argparse, importlib.util, os, secrets, tempfile

spec = importlib.util.spec_from_file_location("run", os.path.join(os.path.dirname(__file__), "run.py"))
run = importlib.util.module_from_spec(spec)
spec.loader.exec_module(run)


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("old")
    parser.add_argument("new")
    parser.add_argument("--seconds", type=int, default=8)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as work:
        with open(os.path.join(work, "pepper"), "wb") as f:
            f.write(secrets.token_bytes(32))
        run.directory(os.path.join(work, "directory.json"))
        for workload, connections in [("signin", 1), ("mix", 8)]:
            runs = {"old": [], "new": []}
            for _ in range(3):
                for name in ["old", "new"]:
                    run.RELEASE = getattr(args, name)
                    rps, p50, p99, *_ = run.run_one("service", "sqlite", workload, connections,
                                                    args.seconds, work)
                    runs[name].append(rps)
                    print(f"{workload} {connections} {name}: {rps:,.0f} req/s, p50 {p50} ms, p99 {p99} ms",
                          flush=True)
            for name, values in runs.items():
                print(f"{workload} {connections} {name}: median {sorted(values)[1]:,.0f} req/s", flush=True)


if __name__ == "__main__":
    main()
