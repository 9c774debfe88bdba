# Sourced by the test scripts. The fixed ports they prefer sit below Linux's
# ephemeral range (32768-60999 by default): a port in that range can be taken at any
# moment by an outgoing connection of the services themselves, which is how a test
# run once failed with "address already in use".

# free_port PREFERRED [WIDTH]: the first port from PREFERRED up whose WIDTH
# consecutive ports can all be bound on 127.0.0.1 right now.
free_port() {
  python3 - "$1" "${2:-1}" <<'PY'
import socket, sys
start, width = int(sys.argv[1]), int(sys.argv[2])
def bindable(port):
    with socket.socket() as s:
        s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            s.bind(("127.0.0.1", port))
            return True
        except OSError:
            return False
for port in range(start, start + 2000):
    if all(bindable(p) for p in range(port, port + width)):
        print(port)
        sys.exit(0)
sys.exit(f"no free port from {start} up")
PY
}
