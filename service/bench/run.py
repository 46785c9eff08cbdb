#!/usr/bin/env python3
"""The service under load (BENCHMARKS.md): a release build of the service and of the baseline
(examples/baseline.rs, the same store round trips in a minimal axum handler), each on a fresh
SQLite file and a fresh PostgreSQL schema, under wrk: sign-in alone and a creation-and-sign-in
mix, at 1, 8 and 32 connections. Prints one Markdown row per run: requests per second, p50 and
p99 latency, non-2xx answers, and the server's peak resident memory (VmHWM). With --repeat N,
each pair runs N times, baseline and service alternating, and a row gives the medians.

With --grants N, every run starts instead from a copy of one store that already holds N grants
within their windows, each with its registration session (seeded by the baseline's
TAP_SEED_GRANTS, through the engine): a SQLite file copied, a PostgreSQL database cloned from a
template.

    cargo build --release -p temporary-access-pass-graph-service --example baseline --bin temporary-access-pass-graph-service
    python3 service/bench/run.py [--seconds 10] [--only sqlite|postgresql] [--repeat 3] [--grants 100000]

Loopback only. Needs wrk, psql and TAP_PG_URL (or the machine's server at 127.0.0.1:5432).
"""
import argparse, json, os, re, secrets, shutil, socket, subprocess, sys, tempfile, time, urllib.request

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
BENCH = os.path.dirname(os.path.abspath(__file__))
RELEASE = os.path.join(ROOT, "target", "release")
SIGN_IN_USERS = 1000
FRESH_PER_THREAD = 80000
PG_URL = os.environ.get("TAP_PG_URL", "host=127.0.0.1 port=5432 user=postgres dbname=test")
QUIET = {**os.environ, "PGOPTIONS": "-c client_min_messages=warning"}


def free_port():
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    return port


def directory(path):
    users = [{"id": "ga@contoso.com", "roles": ["Global Administrator"]},
             {"id": "helpdesk@contoso.com", "roles": ["Authentication Administrator"]}]
    users += [{"id": f"u{i}@bench.test"} for i in range(SIGN_IN_USERS)]
    for thread in (1, 2):
        users += [{"id": f"u{thread * 1000000 + i}@bench.test"} for i in range(1, FRESH_PER_THREAD)]
    with open(path, "w") as f:
        json.dump(users, f)


def call(base, method, path, body=None, token="helpdesk-demo-token"):
    request = urllib.request.Request(base + path, method=method,
                                     data=None if body is None else json.dumps(body).encode())
    request.add_header("Content-Type", "application/json")
    request.add_header("Authorization", "Bearer " + token)
    with urllib.request.urlopen(request, timeout=30) as response:
        text = response.read()
        return response.status, (json.loads(text) if text else None)


def wait_up(port, process):
    for _ in range(300):
        if process.poll() is not None:
            sys.exit(f"the server exited: {process.returncode}")
        try:
            socket.create_connection(("127.0.0.1", port), timeout=0.2).close()
            return
        except OSError:
            time.sleep(0.05)
    sys.exit("the server did not listen")


def peak_rss_kib(pid):
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith("VmHWM:"):
                return int(line.split()[1])
    return 0


def parse_wrk(text):
    rps = float(re.search(r"Requests/sec:\s+([\d.]+)", text).group(1))
    def latency(pct):
        m = re.search(rf"^\s+{pct}%\s+([\d.]+)(us|ms|s)\s*$", text, re.M)
        value, unit = float(m.group(1)), m.group(2)
        return value / 1000 if unit == "us" else value * 1000 if unit == "s" else value
    non2xx = re.search(r"Non-2xx or 3xx responses:\s+(\d+)", text)
    errors = re.search(r"Socket errors:(.*)", text)
    return rps, latency(50), latency(99), int(non2xx.group(1)) if non2xx else 0, (errors.group(1).strip() if errors else "")


def server_env(port, work):
    env = {k: v for k, v in os.environ.items() if not k.startswith("TAP_")}
    env.update({
        "TAP_LISTEN": f"127.0.0.1:{port}", "TAP_PEPPER_FILE": os.path.join(work, "pepper"),
        "TAP_DIRECTORY_FILE": os.path.join(work, "directory.json"),
        "TAP_AUTHENTICATOR": "bearer-tokens",
        "TAP_TOKENS_FILE": os.path.join(ROOT, "service/demo/tokens.json"),
        # The per-source limit would refuse a load generator on loopback: raised, still checked.
        "TAP_SIGN_IN_RATE": "1000000/s", "TAP_SIGN_IN_BURST": "1000000",
        "TAP_LOG": "warn", "TAP_MAX_CONNECTIONS": "1024", "TAP_DRAIN_PERIOD": "0s",
    })
    return env


def psql(sql):
    subprocess.run(["psql", PG_URL, "-qc", sql], check=True, env=QUIET)


class Store:
    """A fresh store: a SQLite file, or a PostgreSQL schema (or database) of its own."""

    def __init__(self, kind, work, database=False, template=None):
        self.kind, self.env, self.cleanup = kind, {}, []
        name = f"tap_bench_{secrets.token_hex(4)}"
        if kind == "sqlite":
            path = os.path.join(work, f"{name}.db")
            if template:
                for suffix in ["", "-wal", "-shm"]:
                    if os.path.exists(template.path + suffix):
                        shutil.copyfile(template.path + suffix, path + suffix)
            self.path = path
            self.env["TAP_SQLITE_PATH"] = path
        elif database or template:
            psql(f"CREATE DATABASE {name}" + (f" TEMPLATE {template.name}" if template else ""))
            self.name = name
            self.env.update({"TAP_DATABASE_URL": f"{PG_URL} dbname={name}", "TAP_TENANT": "bench"})
            self.cleanup.append(f"DROP DATABASE {name}")
        else:
            psql(f"CREATE SCHEMA {name}")
            self.env.update({"TAP_DATABASE_URL": f"{PG_URL} options='-c search_path={name}'",
                             "TAP_TENANT": "bench"})
            self.cleanup.append(f"DROP SCHEMA {name} CASCADE")

    def drop(self):
        for sql in self.cleanup:
            psql(sql)
        if self.kind == "sqlite":
            for suffix in ["", "-wal", "-shm"]:
                if os.path.exists(self.path + suffix):
                    os.remove(self.path + suffix)


def prepared(store, work, codes, grants=0):
    """The set-up, through the service (the baseline has no policy route), in a process of its
    own: the policy, then a multi-use pass for each sign-in user; then `grants` grants seeded
    by the baseline. The measured server starts after it, on the same store."""
    service = os.path.join(RELEASE, "temporary-access-pass-graph-service")
    setup_port = free_port()
    env = {**server_env(setup_port, work), **store.env}
    setup = subprocess.Popen([service], env=env, stderr=subprocess.DEVNULL)
    try:
        wait_up(setup_port, setup)
        prepare(f"http://127.0.0.1:{setup_port}", codes)
    finally:
        setup.terminate()
        setup.wait()
    if grants:
        started = time.monotonic()
        subprocess.run([os.path.join(RELEASE, "examples", "baseline")],
                       env={**env, "TAP_SEED_GRANTS": str(grants)}, check=True,
                       stderr=subprocess.DEVNULL)
        print(f"<!-- {store.kind}: {grants:,} grants seeded in {time.monotonic() - started:.0f} s -->",
              flush=True)


def run_one(server, store, workload, connections, seconds, work, template=None):
    port = free_port()
    env = server_env(port, work)
    codes = os.path.join(work, "codes.txt")
    fresh = Store(store, work, template=template)
    env.update(fresh.env)
    service = os.path.join(RELEASE, "temporary-access-pass-graph-service")
    binary = service if server == "service" else os.path.join(RELEASE, "examples", "baseline")
    process = None
    try:
        if template is None:
            prepared(fresh, work, codes)
        # The set-up's or the copy's writes reach the disk before the run: their write-back
        # would otherwise slow the measured server's first commits.
        os.sync()
        process = subprocess.Popen([binary], env=env, stderr=subprocess.DEVNULL)
        wait_up(port, process)
        base = f"http://127.0.0.1:{port}"
        script = os.path.join(BENCH, f"{workload}.lua")
        threads = 1 if connections == 1 else 2
        out = subprocess.run(["wrk", f"-t{threads}", f"-c{connections}", f"-d{seconds}s", "--latency",
                              "-s", script, base, "--", codes],
                             capture_output=True, text=True, check=True).stdout
        rps, p50, p99, non2xx, errors = parse_wrk(out)
        rss = peak_rss_kib(process.pid)
        return rps, p50, p99, non2xx, errors, rss
    finally:
        if process:
            process.terminate()
            process.wait()
        fresh.drop()


def prepare(base, codes):
    status, _ = call(base, "PATCH",
                     "/v1.0/policies/authenticationMethodsPolicy/authenticationMethodConfigurations/TemporaryAccessPass",
                     {"state": "enabled", "isUsableOnce": False,
                      "includeTargets": [{"targetType": "group", "id": "all_users", "isRegistrationRequired": False}]},
                     token="ga-demo-token")
    assert status == 204
    with open(codes, "w") as f:
        for i in range(SIGN_IN_USERS):
            status, body = call(base, "POST", f"/v1.0/users/u{i}@bench.test/authentication/temporaryAccessPassMethods", {})
            assert status == 201
            f.write(f"u{i}@bench.test {body['temporaryAccessPass']}\n")


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--seconds", type=int, default=10)
    parser.add_argument("--only", choices=["sqlite", "postgresql"])
    parser.add_argument("--repeat", type=int, default=1,
                        help="run each pair this many times, alternating, and print the medians")
    parser.add_argument("--grants", type=int, default=0,
                        help="start every run from a store holding this many grants and sessions")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as work:
        with open(os.path.join(work, "pepper"), "wb") as f:
            f.write(secrets.token_bytes(32))
        directory(os.path.join(work, "directory.json"))
        print("| store | workload | connections | server | req/s | p50 ms | p99 ms | non-2xx | peak RSS MiB |")
        print("|---|---|---|---|---:|---:|---:|---:|---:|")
        for store in ["sqlite", "postgresql"]:
            if args.only and args.only != store:
                continue
            template = None
            if args.grants:
                template = Store(store, work, database=True)
                prepared(template, work, os.path.join(work, "codes.txt"), args.grants)
            try:
                run_store(store, args, work, template)
            finally:
                if template:
                    template.drop()


def median_row(runs):
    """The median of each measure over `runs` (the errors of all of them, the largest RSS)."""
    def median(values):
        values = sorted(values)
        return values[len(values) // 2]
    columns = list(zip(*runs))
    errors = "; ".join(e for e in columns[4] if e)
    return (median(columns[0]), median(columns[1]), median(columns[2]), sum(columns[3]), errors,
            max(columns[5]))


def run_store(store, args, work, template):
    for workload in ["signin", "mix"]:
        for connections in [1, 8, 32]:
            runs = {"baseline": [], "service": []}
            for _ in range(args.repeat):
                for server in ["baseline", "service"]:
                    runs[server].append(run_one(server, store, workload, connections, args.seconds, work, template))
            rows = {server: median_row(r) for server, r in runs.items()}
            for server in ["baseline", "service"]:
                rps, p50, p99, non2xx, errors, rss = rows[server]
                ratio = "" if server == "baseline" else f" ({rps / rows['baseline'][0]:.2f}×)"
                print(f"| {store} | {workload} | {connections} | {server} | {rps:,.0f}{ratio} | "
                      f"{p50:.2f} | {p99:.2f} | {non2xx}{' ' + errors if errors else ''} | {rss / 1024:.0f} |",
                      flush=True)


if __name__ == "__main__":
    main()
