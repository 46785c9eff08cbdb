# Sourced by the checks that run the service's binary.

# Prints the binary's path: $TAP_SERVICE_BIN when set (.ci/run passes the one its test step
# built, whose code is the binary's own: its features add only test code to the library), else
# the one built here.
service_binary() {
    if [ -n "${TAP_SERVICE_BIN:-}" ]; then
        echo "$TAP_SERVICE_BIN"
    else
        cargo build -q -p temporary-access-pass-graph-service
        echo target/debug/temporary-access-pass-graph-service
    fi
}
