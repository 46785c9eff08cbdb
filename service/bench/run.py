#!/usr/bin/env python3
"""The service under load (BENCHMARKS.md): a release build of the service and of the baseline
(examples/baseline.rs, the same store round trips in a minimal axum handler), each on a fresh
SQLite file and a fresh PostgreSQL schema, under wrk: sign-in alone and a creation-and-sign-in
mix, at 1, 8 and 32 connections. Prints one Markdown row per run: requests per second, p50 and
p99 latency, non-2xx answers, and the server's peak resident memory (VmHWM).

    cargo build --release -p temporary-access-pass-graph-service --example baseline --bin temporary-access-pass-graph-service
    python3 service/bench/run.py [--seconds 10] [--only sqlite|postgresql]

Loopback only. Needs wrk, psql and TAP_PG_URL (or the machine's server at 127.0.0.1:5432).
"""
import argparse, json, os, re, secrets, socket, subprocess, sys, tempfile, time, urllib.request

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


def run_one(server, store, workload, connections, seconds, work):
    port = free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith("TAP_")}
    env.update({
        "TAP_LISTEN": f"127.0.0.1:{port}", "TAP_PEPPER_FILE": os.path.join(work, "pepper"),
        "TAP_DIRECTORY_FILE": os.path.join(work, "directory.json"),
        "TAP_AUTHENTICATOR": "bearer-tokens",
        "TAP_TOKENS_FILE": os.path.join(ROOT, "service/demo/tokens.json"),
        # The per-source limit would refuse a load generator on loopback: raised, still checked.
        "TAP_SIGN_IN_RATE": "1000000/s", "TAP_SIGN_IN_BURST": "1000000",
        "TAP_LOG": "warn", "TAP_MAX_CONNECTIONS": "1024",
    })
    schema = None
    if store == "sqlite":
        env["TAP_SQLITE_PATH"] = os.path.join(work, f"bench-{secrets.token_hex(4)}.db")
    else:
        schema = f"tap_bench_{secrets.token_hex(4)}"
        subprocess.run(["psql", PG_URL, "-qc", f"CREATE SCHEMA {schema}"], check=True, env=QUIET)
        env["TAP_DATABASE_URL"] = f"{PG_URL} options='-c search_path={schema}'"
        env["TAP_TENANT"] = "bench"
    service = os.path.join(RELEASE, "temporary-access-pass-graph-service")
    binary = service if server == "service" else os.path.join(RELEASE, "examples", "baseline")
    codes = os.path.join(work, "codes.txt")
    process = None
    try:
        # The set-up goes through the service (the baseline has no policy route), in a process
        # of its own: the policy, then a multi-use pass for each sign-in user. The measured
        # server starts after it, on the same store.
        setup_port = free_port()
        setup = subprocess.Popen([service], env={**env, "TAP_LISTEN": f"127.0.0.1:{setup_port}"},
                                 stderr=subprocess.DEVNULL)
        try:
            wait_up(setup_port, setup)
            prepare(f"http://127.0.0.1:{setup_port}", codes)
        finally:
            setup.terminate()
            setup.wait()
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
        if schema:
            subprocess.run(["psql", PG_URL, "-qc", f"DROP SCHEMA {schema} CASCADE"], check=True, env=QUIET)


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
            for workload in ["signin", "mix"]:
                for connections in [1, 8, 32]:
                    rows = {}
                    for server in ["baseline", "service"]:
                        rows[server] = run_one(server, store, workload, connections, args.seconds, work)
                    for server in ["baseline", "service"]:
                        rps, p50, p99, non2xx, errors, rss = rows[server]
                        ratio = "" if server == "baseline" else f" ({rps / rows['baseline'][0]:.2f}×)"
                        print(f"| {store} | {workload} | {connections} | {server} | {rps:,.0f}{ratio} | "
                              f"{p50:.2f} | {p99:.2f} | {non2xx}{' ' + errors if errors else ''} | {rss / 1024:.0f} |",
                              flush=True)


if __name__ == "__main__":
    main()
