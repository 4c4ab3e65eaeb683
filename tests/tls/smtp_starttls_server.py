#!/usr/bin/env python3
"""A loopback SMTP server that offers STARTTLS, for TLS scanner tests.

    smtp_starttls_server.py --port P --cert C --key K [--host 127.0.0.1]
        [--ciphers OPENSSL_CIPHER_STRING] [--min-version 1.2] [--max-version 1.3]
        [--client-ca CA.pem [--require-client-cert]] [--ready-file PATH]

Standard library + aiosmtpd (installed in .tools/venv by scripts/test), so run
it with "$TOOLS/venv/bin/python".  TLS is Python's ssl module, i.e. the system
OpenSSL 3.0: TLS 1.0/1.1 and RSA-1024 need --ciphers 'DEFAULT:@SECLEVEL=0'
(plus --min-version 1.0); 3DES/RC4 suites do not exist in Debian's build.

The server greets "220 <hostname> Python SMTP 1.4.6", advertises STARTTLS in
its EHLO reply (sent in one write: see handle_EHLO) and refuses MAIL before
STARTTLS (require_starttls).  Messages are accepted and dropped.  It runs until
SIGTERM/SIGINT.  When it is listening it prints "READY <port>" on stdout (and
writes the same to --ready-file if given).

Notes for scanner tests:
* aiosmtpd's Controller opens one connection to the port itself at start (its
  own liveness check) before READY is printed.
* --client-ca makes Python's ssl verify client certificates but sends NO CA
  names in the CertificateRequest (Python has no SSL_CTX_set_client_CA_list).
* With --require-client-cert and TLS 1.3, a client without a certificate sees
  the TCP connection closed without a certificate_required alert (asyncio's
  SSL transport aborts without flushing it).  sslyze 6.3.1 turns that into a
  connectivity error and scans nothing; nmap is unaffected.  Add
  --max-version 1.2 when sslyze must scan a client-cert-required STARTTLS
  server.
"""

import argparse
import logging
import signal
import ssl
import sys
import threading
import warnings

from aiosmtpd.controller import Controller

VERSIONS = {
    "1.0": ssl.TLSVersion.TLSv1,
    "1.1": ssl.TLSVersion.TLSv1_1,
    "1.2": ssl.TLSVersion.TLSv1_2,
    "1.3": ssl.TLSVersion.TLSv1_3,
}


class DropHandler:
    async def handle_EHLO(self, server, session, envelope, hostname, responses):
        # aiosmtpd writes each EHLO line with its own send(); nmap's smtp.lua
        # reads "one line" with receive_lines(1), i.e. whatever the first
        # segment held, so it took the rest of the EHLO reply as the answer to
        # STARTTLS and gave up ("Previous STARTTLS attempt failed").  Real
        # MTAs send the reply in one write: do the same (one push, one send).
        session.host_name = hostname  # the new-style hook must set it
        return ["\r\n".join(responses)]

    async def handle_DATA(self, server, session, envelope):
        return "250 OK (dropped)"


def main():
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--host", default="127.0.0.1")
    p.add_argument("--port", type=int, required=True)
    p.add_argument("--cert", required=True, help="PEM certificate (chain) file")
    p.add_argument("--key", required=True, help="PEM private key file")
    p.add_argument("--ciphers", help="OpenSSL cipher string for TLS <= 1.2")
    p.add_argument("--min-version", choices=sorted(VERSIONS))
    p.add_argument("--max-version", choices=sorted(VERSIONS))
    p.add_argument("--client-ca", help="PEM CA file: request a client certificate from these CAs")
    p.add_argument("--require-client-cert", action="store_true", help="with --client-ca: make it required")
    p.add_argument("--hostname", default="localhost", help="name in the 220 greeting / EHLO reply")
    p.add_argument("--ready-file")
    args = p.parse_args()

    # Failed handshakes from scanners are expected by the hundred; keep quiet.
    logging.basicConfig(level=logging.CRITICAL)
    for name in ("mail.log", "asyncio"):
        logging.getLogger(name).setLevel(logging.CRITICAL)

    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    if args.ciphers:
        ctx.set_ciphers(args.ciphers)  # set before loading a weak key (seclevel)
    with warnings.catch_warnings():  # TLSVersion.TLSv1/TLSv1_1 are deprecated names
        warnings.simplefilter("ignore", DeprecationWarning)
        if args.min_version:
            ctx.minimum_version = VERSIONS[args.min_version]
        if args.max_version:
            ctx.maximum_version = VERSIONS[args.max_version]
    ctx.load_cert_chain(args.cert, args.key)
    if args.client_ca:
        ctx.load_verify_locations(cafile=args.client_ca)
        ctx.verify_mode = ssl.CERT_REQUIRED if args.require_client_cert else ssl.CERT_OPTIONAL

    controller = Controller(
        DropHandler(),
        hostname=args.host,
        port=args.port,
        server_hostname=args.hostname,
        tls_context=ctx,
        require_starttls=True,
        ready_timeout=10,
    )
    controller.start()

    line = f"READY {args.port}\n"
    sys.stdout.write(line)
    sys.stdout.flush()
    if args.ready_file:
        with open(args.ready_file, "w") as f:
            f.write(line)

    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    signal.signal(signal.SIGINT, lambda *_: stop.set())
    try:
        stop.wait()
    finally:
        controller.stop()


if __name__ == "__main__":
    main()
