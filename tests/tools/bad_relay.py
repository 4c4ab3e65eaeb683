#!/usr/bin/env python3
"""A mail relay that misbehaves, for tests: `refuse` greets every connection with a permanent
refusal and hangs up; `hang` accepts connections and never says a word. Loopback only.

usage: bad_relay.py refuse|hang PORT
"""
import socket
import sys
import threading


def serve(mode: str, port: int) -> None:
    listener = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    listener.bind(("127.0.0.1", port))
    listener.listen(64)
    held = []
    while True:
        conn, _ = listener.accept()
        if mode == "refuse":
            try:
                conn.sendall(b"554 5.3.2 relay refuses all mail (test)\r\n")
            finally:
                conn.close()
        else:
            # Keep the socket open and silent until the process is killed.
            held.append(conn)


if __name__ == "__main__":
    if len(sys.argv) != 3 or sys.argv[1] not in ("refuse", "hang"):
        sys.exit(__doc__)
    threading.Thread(target=serve, args=(sys.argv[1], int(sys.argv[2])), daemon=True).start()
    print("ready", flush=True)
    threading.Event().wait()
