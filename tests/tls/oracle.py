#!/usr/bin/env python3
"""Reference ("oracle") TLS scanners for comparing `signet tls-test` results.

Runs sslyze (through its Python API) or nmap's ssl-enum-ciphers script against
ONE endpoint and prints ONE JSON object on stdout:

    {"tool": "sslyze 6.3.1",
     "target": "127.0.0.1:4433",
     "sni": null | "name",
     "protocols": {"TLSv1.2": ["TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256", ...], ...},
     "client_auth": "none" | "optional" | "required" | null,
     "ca_names": ["/O=Org/CN=Name", ...] | null,
     "elapsed_s": 1.23,
     "connections": 57 | null,
     "errors": {}}
    (nmap adds "command" and "service": the nmap argv and the service name.)

* Protocol keys: SSLv2, SSLv3, TLSv1.0, TLSv1.1, TLSv1.2, TLSv1.3; only
  protocols with at least one accepted suite are present.
* Suite names are IANA names (TLS_...), each list sorted.  (sslyze's SSLv2
  suites would keep sslyze's SSL_CK_* names; SSLv2 has no IANA registry.)
* client_auth: sslyze's own ClientAuthRequirementEnum from its connectivity
  test (DISABLED/OPTIONAL/REQUIRED -> none/optional/required); nmap: null.
  sslyze judges this at the TLS level only: a server that completes the
  handshake without a certificate and refuses later (nginx
  `ssl_verify_client on` answers HTTP 400) is "optional".  With TLS 1.3 an
  "optional" verdict costs one network timeout (--timeout, 5 s): sslyze
  waits for a read that never comes.
* ca_names (sslyze only, with --ca-names, one extra handshake): the CA names
  of the CertificateRequest in the server's order, [] for an empty list,
  null when no certificate was requested.  sslyze's public API has no such
  result: it is read from nassl's ClientCertificateRequested exception.
* sni: both tools send no SNI unless --sni is given.  (Stock sslyze sends the
  IP literal as SNI, which RFC 6066 forbids and which `openssl s_server
  -servername X -servername_fatal` rejects; --ip-sni keeps that behaviour.)
* connections: connect() calls to HOST:PORT seen by `strace -f -e
  trace=connect` when --count-connections is given, else null.  Counted:
  every connection the tool opened, including nmap's -sT port-scan connect
  and its shortport.ssl probe, and the extra sslyze client-auth/--ca-names
  handshakes.  (Cross-checked: sslyze's socket.create_connection calls and
  nmap -d2 "TCP connection requested" lines + 1 give the same numbers.)
* errors: {} when the scan completed; otherwise per-protocol (or
  "connectivity", "scan", "nmap", "starttls", "ca_names") error strings, and
  the exit status is 1.  Exit 2 = usage error.

Known failure: sslyze 6.3.1 aborts the whole scan ("connectivity": "...
Could not read() - peer closed the connection") against a TLS 1.3 server
that requires a client certificate and closes the TCP connection without
sending the certificate_required alert (Python asyncio servers, e.g.
smtp_starttls_server.py --require-client-cert).  Servers that send the alert
(openssl s_server -Verify, stunnel, GnuTLS) are scanned correctly.

Usage:
    oracle.py sslyze HOST:PORT [--sni NAME | --ip-sni] [--starttls smtp|imap|pop3|ldap]
                               [--ca-names] [--count-connections] [--timeout S]
    oracle.py nmap   HOST:PORT [--sni NAME] [--starttls smtp|imap|pop3|ldap]
                               [--count-connections]

HOST must be an IP address literal (IPv6 may be bracketed: [::1]:4433): both
tools then connect only to that address (no DNS).

Run the sslyze mode with the interpreter of the pinned venv
(tests/tls/requirements.txt), e.g. "$SSLYZE_PYTHON tests/tls/oracle.py ...".
The nmap mode only needs the standard library and /usr/bin/nmap ($NMAP);
--count-connections needs strace ($STRACE).

nmap and STARTTLS
-----------------
ssl-enum-ciphers' portrule is `shortport.ssl(host, port) or
sslcert.getPrepareTLSWithoutReconnect(port)`.  For direct TLS on any port no
-sV is needed: shortport.ssl() probes the port itself with a ClientHello when
the service name comes only from nmap-services (confidence 3).  For STARTTLS
the helper is chosen by port.service ("smtp", "imap", "pop3", "ldap", ...) or
by a well-known port number (25, 587, 143, 110, 389...).  nmap has no switch
to force a service name, so on an arbitrary port the name must come from
somewhere else.  Two ways work:

  1. `-sV --version-light`: version detection names the service "smtp" from
     the 220 banner.  Slow when the banner only *soft*-matches (aiosmtpd's
     "220 localhost Python SMTP 1.4.6": nmap keeps trying probes with 5-7 s
     read timeouts, ~31 s per scan, --version-intensity 0 does not help) and
     useless for LDAP (no banner).
  2. (used here) a private data directory: `nmap --datadir DIR` where DIR holds
     only an nmap-services file saying "smtp PORT/tcp".  nmap looks there
     first and falls back to /usr/share/nmap for every other file, the port
     gets service "smtp" without -sV, and ssl-enum-ciphers does
     EHLO + STARTTLS on each of its connections (~0.6 s on loopback).  The
     XML's <service name> is checked against --starttls.

nmap's smtp.lua reads an EHLO reply with receive_lines(1), i.e. whatever the
first TCP segment held: a server that writes its multi-line EHLO reply one
line per send() (aiosmtpd does) makes nmap take the remaining EHLO lines as
the STARTTLS answer and give up ("Previous STARTTLS attempt failed");
tests/tls/smtp_starttls_server.py therefore sends the EHLO reply in one write.

nmap suite names are IANA names except TLS 1.3, which nmap 7.93 prints as
TLS_AKE_WITH_AES_128_GCM_SHA256 etc.; they are mapped to TLS_AES_128_GCM_SHA256.
ssl-enum-ciphers never tries SSLv2 (that is the sslv2 script).
"""

import argparse
import ipaddress
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time
import xml.etree.ElementTree as ET

PROTOCOL_KEYS = ["SSLv2", "SSLv3", "TLSv1.0", "TLSv1.1", "TLSv1.2", "TLSv1.3"]
STARTTLS_CHOICES = ["smtp", "imap", "pop3", "ldap"]
NMAP = os.environ.get("NMAP", "/usr/bin/nmap")
STRACE = os.environ.get("STRACE", shutil.which("strace") or "/usr/bin/strace")
# Set in the child when this script re-runs itself under strace.
_CHILD_ENV = "SIGNET_ORACLE_UNDER_STRACE"


# --------------------------------------------------------------------------
# Arguments and helpers
# --------------------------------------------------------------------------


def parse_target(target):
    """'127.0.0.1:4433' / '[::1]:4433' -> ('127.0.0.1', 4433)."""
    m = re.fullmatch(r"\[([^\]]+)\]:(\d+)", target) or re.fullmatch(r"([^:\[\]]+):(\d+)", target)
    if not m:
        raise ValueError(f"target must be HOST:PORT or [V6]:PORT, got {target!r}")
    host, port = m.group(1), int(m.group(2))
    ipaddress.ip_address(host)  # raises ValueError for hostnames
    if not 0 < port < 65536:
        raise ValueError(f"bad port {port}")
    return host, port


def build_parser():
    p = argparse.ArgumentParser(description="Run sslyze or nmap ssl-enum-ciphers and print normalised JSON.")
    p.add_argument("tool", choices=["sslyze", "nmap"])
    p.add_argument("target", help="IP:PORT or [IPv6]:PORT")
    p.add_argument("--sni", help="server name to send in SNI (default: no SNI, for both tools)")
    p.add_argument("--ip-sni", action="store_true",
                   help="sslyze without --sni: keep sslyze's stock behaviour of sending the IP literal as SNI")
    p.add_argument("--starttls", choices=STARTTLS_CHOICES)
    p.add_argument("--ca-names", action="store_true",
                   help="sslyze: one extra handshake without a client cert to read the server's CA name list")
    p.add_argument("--count-connections", action="store_true",
                   help="re-run under strace and count connect() calls to HOST:PORT")
    p.add_argument("--timeout", type=int, default=5, help="sslyze per-connection network timeout (s)")
    p.add_argument("--concurrency", type=int, default=None,
                   help="sslyze per-server concurrent connections (sslyze default 5)")
    return p


def emit(obj, ok):
    sys.stdout.write(json.dumps(obj, sort_keys=True) + "\n")
    sys.stdout.flush()
    sys.exit(0 if ok else 1)


def base_result(tool, target):
    return {
        "tool": tool,
        "target": target,
        "protocols": {},
        "client_auth": None,
        "ca_names": None,
        "elapsed_s": None,
        "connections": None,
        "errors": {},
    }


# --------------------------------------------------------------------------
# sslyze (Python API)
# --------------------------------------------------------------------------


def run_sslyze(args, host, port):
    import sslyze
    from sslyze import (
        ClientAuthRequirementEnum,
        ProtocolWithOpportunisticTlsEnum,
        Scanner,
        ScanCommand,
        ScanCommandAttemptStatusEnum,
        ServerConnectivityStatusEnum,
        ServerNetworkConfiguration,
        ServerNetworkLocation,
        ServerScanRequest,
        ServerScanStatusEnum,
    )
    from sslyze.__version__ import __version__ as sslyze_version

    result = base_result(f"sslyze {sslyze_version}", args.target)
    if not args.sni and not args.ip_sni:
        _sslyze_disable_sni()
    result["sni"] = args.sni or (host if args.ip_sni else None)

    # hostname is only used for display and as the default SNI; ip_address
    # makes sslyze connect to exactly this address (no DNS lookup).
    location = ServerNetworkLocation(hostname=args.sni or host, port=port, ip_address=host)
    net_cfg = ServerNetworkConfiguration(
        tls_server_name_indication=args.sni or host,
        tls_opportunistic_encryption=(
            ProtocolWithOpportunisticTlsEnum(args.starttls.upper()) if args.starttls else None
        ),
        network_timeout=args.timeout,
    )
    commands = {
        ScanCommand.SSL_2_0_CIPHER_SUITES: "SSLv2",
        ScanCommand.SSL_3_0_CIPHER_SUITES: "SSLv3",
        ScanCommand.TLS_1_0_CIPHER_SUITES: "TLSv1.0",
        ScanCommand.TLS_1_1_CIPHER_SUITES: "TLSv1.1",
        ScanCommand.TLS_1_2_CIPHER_SUITES: "TLSv1.2",
        ScanCommand.TLS_1_3_CIPHER_SUITES: "TLSv1.3",
    }
    request = ServerScanRequest(
        server_location=location, network_configuration=net_cfg, scan_commands=set(commands)
    )

    t0 = time.monotonic()
    scanner = Scanner(per_server_concurrent_connections_limit=args.concurrency)
    scanner.queue_scans([request])
    server_result = next(iter(scanner.get_results()))
    elapsed = time.monotonic() - t0

    if server_result.connectivity_status != ServerConnectivityStatusEnum.COMPLETED:
        trace = server_result.connectivity_error_trace
        msg = "".join(trace.format_exception_only()).strip() if trace else "connectivity test failed"
        result["errors"]["connectivity"] = msg
        result["elapsed_s"] = round(elapsed, 3)
        return result

    requirement = server_result.connectivity_result.client_auth_requirement
    result["client_auth"] = {
        ClientAuthRequirementEnum.DISABLED: "none",
        ClientAuthRequirementEnum.OPTIONAL: "optional",
        ClientAuthRequirementEnum.REQUIRED: "required",
    }[requirement]

    if server_result.scan_status != ServerScanStatusEnum.COMPLETED or server_result.scan_result is None:
        result["errors"]["scan"] = f"scan status {server_result.scan_status}"
    else:
        scan = server_result.scan_result
        for command, key in commands.items():
            attempt = getattr(scan, command.value)
            if attempt.status != ScanCommandAttemptStatusEnum.COMPLETED:
                trace = attempt.error_trace
                detail = "".join(trace.format_exception_only()).strip() if trace else ""
                result["errors"][key] = f"{attempt.error_reason}: {detail}"
                continue
            names = sorted({a.cipher_suite.name for a in attempt.result.accepted_cipher_suites})
            if names:
                result["protocols"][key] = names

    if args.ca_names and requirement != ClientAuthRequirementEnum.DISABLED:
        try:
            result["ca_names"] = sslyze_ca_names(server_result)
        except Exception as e:  # noqa: BLE001 - report, don't crash the oracle
            result["errors"]["ca_names"] = f"{type(e).__name__}: {e}"

    result["elapsed_s"] = round(elapsed, 3)
    return result


def _sslyze_disable_sni():
    """sslyze always sends SNI; without a hostname it sends the IP literal
    (RFC 6066 forbids that, and e.g. `openssl s_server -servername X
    -servername_fatal` then aborts every handshake).  nmap sends no SNI for
    an IP target.  Make sslyze send none too: every TLS connection sslyze
    makes goes through SslConnection(..., should_enable_server_name_indication)."""
    import functools
    from sslyze.connection_helpers import tls_connection

    orig = tls_connection.SslConnection.__init__
    if getattr(orig, "_oracle_no_sni", False):
        return

    @functools.wraps(orig)
    def init(self, *a, **kw):
        kw["should_enable_server_name_indication"] = False
        orig(self, *a, **kw)

    init._oracle_no_sni = True
    tls_connection.SslConnection.__init__ = init


def sslyze_ca_names(server_result):
    """One handshake with sslyze's own connection class and no client
    certificate; the CertificateRequest's CA list arrives in nassl's
    ClientCertificateRequested exception (a private attribute, _ca_list).
    sslyze's public results do not expose it.  Returns OpenSSL one-line DNs
    ("/O=Org/CN=Name") in the server's order, or [] for an empty list."""
    from nassl.ssl_client import ClientCertificateRequested
    from sslyze.connection_helpers.tls_connection import SslConnection

    probing = server_result.connectivity_result
    conn = SslConnection(
        server_location=server_result.server_location,
        network_configuration=server_result.network_configuration,
        tls_version=probing.highest_tls_version_supported,
        should_ignore_client_auth=False,
    )
    # same cipher string as sslyze's own get_preconfigured_tls_connection()
    # (the suite or list its connectivity test got through with)
    if probing.cipher_suite_supported:
        if probing.highest_tls_version_supported.name == "TLS_1_3":
            conn.ssl_client.set_ciphersuites(probing.cipher_suite_supported)
        else:
            conn.ssl_client.set_cipher_list(probing.cipher_suite_supported)
    try:
        conn.connect(should_retry_connection=False)
        if probing.highest_tls_version_supported.name == "TLS_1_3":
            # TLS 1.3: the request may only surface on the first read
            conn.ssl_client.write(b"\r\n")
            conn.ssl_client.read(1)
        return None
    except ClientCertificateRequested as e:
        return list(getattr(e, "_ca_list", []) or [])
    finally:
        conn.close()


# --------------------------------------------------------------------------
# nmap ssl-enum-ciphers
# --------------------------------------------------------------------------


def nmap_version():
    try:
        out = subprocess.run([NMAP, "--version"], capture_output=True, text=True, timeout=30).stdout
    except OSError:
        return "nmap ?"
    m = re.search(r"Nmap version (\S+)", out)
    return f"nmap {m.group(1)}" if m else "nmap ?"


def nmap_command(args, host, port, datadir=None):
    cmd = [NMAP, "-n", "-Pn", "-sT", "-p", str(port)]
    if ipaddress.ip_address(host).version == 6:
        cmd.append("-6")
    if datadir:
        # see module docstring: names the port's service for STARTTLS
        cmd += ["--datadir", datadir]
    cmd += ["--script", "ssl-enum-ciphers"]
    if args.sni:
        cmd += ["--script-args", f"tls.servername={args.sni}"]
    cmd += [host, "-oX", "-"]
    return cmd


def parse_nmap_xml(xml_text, port):
    """Returns (protocols, service_name, error or None)."""
    root = ET.fromstring(xml_text)
    port_el = None
    for p in root.iter("port"):
        if p.get("portid") == str(port):
            port_el = p
    if port_el is None:
        return {}, None, "port not in nmap output"
    state = port_el.find("state")
    if state is None or state.get("state") != "open":
        return {}, None, f"port state {state.get('state') if state is not None else '?'}"
    svc = port_el.find("service")
    service = svc.get("name") if svc is not None else None
    script = None
    for s in port_el.findall("script"):
        if s.get("id") == "ssl-enum-ciphers":
            script = s
    if script is None:
        return {}, service, "ssl-enum-ciphers did not run (portrule false or no TLS found)"
    protocols = {}
    for proto_table in script.findall("table"):
        key = proto_table.get("key")
        if key not in PROTOCOL_KEYS:
            continue
        names = set()
        for ciphers in proto_table.findall("table"):
            if ciphers.get("key") != "ciphers":
                continue
            for c in ciphers.findall("table"):
                for elem in c.findall("elem"):
                    if elem.get("key") == "name" and elem.text:
                        names.add(normalize_nmap_name(elem.text))
        if names:
            protocols[key] = sorted(names)
    return protocols, service, None


def normalize_nmap_name(text):
    # XML <elem key="name"> holds just the name (possibly with surrounding
    # whitespace); the normal-output form "NAME (rsa 2048) - A" is handled too.
    name = text.strip().split()[0]
    # nmap 7.93 names the TLS 1.3 suites TLS_AKE_WITH_<AEAD>_<HASH>
    if name.startswith("TLS_AKE_WITH_"):
        name = "TLS_" + name[len("TLS_AKE_WITH_"):]
    return name


def run_nmap(args, host, port):
    result = base_result(nmap_version() + " ssl-enum-ciphers", args.target)
    result["sni"] = args.sni  # nmap sends none for an IP target unless tls.servername is set
    with tempfile.TemporaryDirectory(prefix="oracle-nmap-") as datadir:
        if args.starttls:
            with open(os.path.join(datadir, "nmap-services"), "w") as f:
                f.write(f"{args.starttls}\t{port}/tcp\t0.500000\t# forced by oracle.py\n")
        cmd = nmap_command(args, host, port, datadir if args.starttls else None)
        result["command"] = cmd
        t0 = time.monotonic()
        proc = subprocess.run(cmd, capture_output=True, text=True)
        result["elapsed_s"] = round(time.monotonic() - t0, 3)
    if proc.returncode != 0:
        result["errors"]["nmap"] = f"exit {proc.returncode}: {proc.stderr.strip()[-2000:]}"
        return result
    try:
        protocols, service, err = parse_nmap_xml(proc.stdout, port)
    except ET.ParseError as e:
        result["errors"]["nmap"] = f"bad XML: {e}"
        return result
    result["protocols"] = protocols
    result["service"] = service
    if err:
        result["errors"]["nmap"] = err
    if args.starttls and service != args.starttls:
        result["errors"]["starttls"] = (
            f"nmap named the service {service!r}, not {args.starttls!r}; its STARTTLS helper was not used"
        )
    return result


# --------------------------------------------------------------------------
# Connection counting (strace)
# --------------------------------------------------------------------------

_CONNECT_V4 = re.compile(r'connect\(\d+, \{sa_family=AF_INET, sin_port=htons\((\d+)\), sin_addr=inet_addr\("([^"]+)"\)')
_CONNECT_V6 = re.compile(
    r'connect\(\d+, \{sa_family=AF_INET6, sin6_port=htons\((\d+)\),.*?inet_pton\(AF_INET6, "([^"]+)"'
)


def count_connects(strace_log, host, port):
    want = ipaddress.ip_address(host)
    n = 0
    for line in strace_log.splitlines():
        if "resumed>" in line:  # the args are on the matching "<unfinished ...>" line
            continue
        m = _CONNECT_V4.search(line) or _CONNECT_V6.search(line)
        if not m or int(m.group(1)) != port:
            continue
        addr = ipaddress.ip_address(m.group(2))
        if getattr(addr, "ipv4_mapped", None):
            addr = addr.ipv4_mapped
        if addr == want:
            n += 1
    return n


def run_counted(argv, host, port, tool_label):
    """Re-run this script (same interpreter, same args minus the flag) under
    `strace -f -e trace=connect` and add the count to the child's JSON."""
    if not os.path.exists(STRACE):
        res = base_result(tool_label, argv[1] if len(argv) > 1 else "")
        res["errors"]["connections"] = "strace not installed"
        emit(res, False)
    child_args = [a for a in argv if a != "--count-connections"]
    with tempfile.NamedTemporaryFile(prefix="oracle-strace-", suffix=".log", delete=False) as f:
        log_path = f.name
    try:
        strace = [STRACE, "-f", "-qq", "-e", "trace=connect", "-o", log_path]
        # --seccomp-bpf keeps the overhead near zero (only connect() stops)
        probe = subprocess.run([STRACE, "--seccomp-bpf", "-e", "trace=connect", "-o", "/dev/null", "true"],
                               capture_output=True)
        if probe.returncode == 0:
            strace.insert(1, "--seccomp-bpf")
        env = dict(os.environ, **{_CHILD_ENV: "1"})
        proc = subprocess.run(strace + ["--", sys.executable, os.path.abspath(__file__)] + child_args,
                              capture_output=True, text=True, env=env)
        sys.stderr.write(proc.stderr)
        try:
            res = json.loads(proc.stdout.strip().splitlines()[-1])
        except (IndexError, json.JSONDecodeError):
            res = base_result(tool_label, child_args[1] if len(child_args) > 1 else "")
            res["errors"]["oracle"] = f"child exit {proc.returncode}, no JSON: {proc.stdout[-500:]!r}"
        with open(log_path, encoding="utf-8", errors="replace") as f:
            res["connections"] = count_connects(f.read(), host, port)
        emit(res, proc.returncode == 0 and not res.get("errors"))
    finally:
        os.unlink(log_path)


# --------------------------------------------------------------------------


def main(argv):
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        host, port = parse_target(args.target)
    except ValueError as e:
        parser.error(str(e))
    if args.tool == "nmap" and (args.ca_names or args.ip_sni):
        parser.error("--ca-names and --ip-sni are sslyze-only")

    if args.count_connections and not os.environ.get(_CHILD_ENV):
        run_counted(argv, host, port, args.tool)

    if args.tool == "sslyze":
        try:
            result = run_sslyze(args, host, port)
        except ImportError as e:
            res = base_result("sslyze ?", args.target)
            res["errors"]["import"] = f"{e} (run with the sslyze venv's python: $SSLYZE_PYTHON)"
            emit(res, False)
    else:
        result = run_nmap(args, host, port)
    emit(result, not result["errors"])


if __name__ == "__main__":
    main(sys.argv[1:])
