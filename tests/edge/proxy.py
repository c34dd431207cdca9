"""Real nginx with Moa's own configuration (nginx/), rewritten only where a test
machine differs from a server: ports, upstream addresses, paths, trusted proxies."""

from __future__ import annotations

import contextlib
import datetime
import ipaddress
import re
import signal
import socket
import subprocess
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from tests.helpers import ROOT

NGINX_DIR = ROOT / "nginx"
UPSTREAM_SERVERS = ("web1:8000", "web2:8000")
TRUSTED_CIDR = "10.0.0.0/8"


@dataclass
class Proxy:
    http_url: str
    https_url: str
    ca_file: Path
    error_log: Path
    access_log: Path

    def access_lines(self) -> list[str]:
        return self.access_log.read_text().splitlines() if self.access_log.exists() else []


def self_signed_pair(directory: Path, host: str = "localhost") -> tuple[Path, Path]:
    """A certificate for `host` and 127.0.0.1, and its key (the test's own CA)."""
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import NameOID

    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, host)])
    now = datetime.datetime.now(datetime.UTC)
    certificate = (
        x509.CertificateBuilder().subject_name(name).issuer_name(name)
        .public_key(key.public_key()).serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(minutes=5))
        .not_valid_after(now + datetime.timedelta(days=1))
        .add_extension(x509.SubjectAlternativeName([
            x509.DNSName(host), x509.DNSName("moa.example.com"),
            x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]), critical=False)
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .sign(key, hashes.SHA256())
    )
    cert_path, key_path = directory / "moa.crt", directory / "moa.key"
    cert_path.write_bytes(certificate.public_bytes(serialization.Encoding.PEM))
    key_path.write_bytes(key.private_bytes(serialization.Encoding.PEM,
                                           serialization.PrivateFormat.PKCS8,
                                           serialization.NoEncryption()))
    return cert_path, key_path


def render(directory: Path, upstreams: list[str], http_port: int, https_port: int,
           trusted: str) -> Path:
    """nginx/*.conf rewritten for this machine; returns the main file's path."""
    cert, key = self_signed_pair(directory)
    main = (NGINX_DIR / "nginx.conf").read_text()
    main = _replace(main, "pid /var/run/nginx.pid;", f"pid {directory}/nginx.pid;")
    main = _replace(main, "error_log /var/log/nginx/error.log notice;",
                    f"error_log {directory}/error.log info;")
    main = _replace(main, "access_log /var/log/nginx/access.log moa;",
                    f"access_log {directory}/access.log moa;\n" + "".join(
                        f"    {kind}_temp_path {directory}/{kind};\n"
                        for kind in ("client_body", "proxy", "fastcgi", "uwsgi", "scgi")))
    main = _replace(main, "include /etc/nginx/conf.d/*.conf;", f"include {directory}/moa.conf;")
    site = (NGINX_DIR / "moa.conf").read_text()
    template = next(line for line in site.splitlines() if UPSTREAM_SERVERS[0] in line)
    site = _replace(site, UPSTREAM_SERVERS[1], UPSTREAM_SERVERS[0])  # one line per instance
    site = site.replace(f"{template}\n{template}\n", "".join(
        template.replace(UPSTREAM_SERVERS[0], address) + "\n" for address in upstreams))
    site = _replace(site, "listen 80 default_server;",
                    f"listen 127.0.0.1:{http_port} default_server;")
    site = _replace(site, "listen 443 ssl default_server;",
                    f"listen 127.0.0.1:{https_port} ssl default_server;")
    site = _replace(site, "/etc/nginx/tls/moa.crt", str(cert))
    site = _replace(site, "/etc/nginx/tls/moa.key", str(key))
    site = site.replace(TRUSTED_CIDR, trusted)
    site = site.replace("/etc/nginx/moa_proxy_headers.conf", f"{directory}/headers.conf")
    (directory / "moa.conf").write_text(site)
    (directory / "headers.conf").write_text((NGINX_DIR / "moa_proxy_headers.conf").read_text())
    (directory / "nginx.conf").write_text(main)
    return directory / "nginx.conf"


def _replace(text: str, old: str, new: str) -> str:
    assert old in text, f"nginx config no longer contains {old!r}: update tests/edge/proxy.py"
    return text.replace(old, new)


def trusted_cidrs(site: str) -> tuple[list[str], list[str]]:
    """The set_real_ip_from addresses and the geo block's trusted ones."""
    realip = re.findall(r"^set_real_ip_from\s+(\S+);", site, re.MULTILINE)
    geo = re.search(r"geo \$realip_remote_addr \$moa_trusted_proxy \{(.*?)\}", site, re.S)
    trusted = re.findall(r"^\s*(\S+)\s+1;", geo[1], re.MULTILINE)
    return realip, trusted


@contextlib.contextmanager
def nginx(binary: str, directory: Path, upstreams: list[str], http_port: int,
          https_port: int, trusted: str = "10.0.0.0/8") -> Iterator[Proxy]:
    """nginx in the foreground, in front of `upstreams`; ended by its pid."""
    config = render(directory, upstreams, http_port, https_port, trusted)
    check = subprocess.run([binary, "-t", "-p", str(directory), "-c", str(config)],
                           capture_output=True, text=True)
    assert check.returncode == 0, check.stderr
    process = subprocess.Popen([binary, "-p", str(directory), "-c", str(config),
                                "-g", "daemon off;"], stderr=subprocess.PIPE, text=True)
    try:
        _wait_for_port(http_port, process)
        yield Proxy(f"http://127.0.0.1:{http_port}", f"https://127.0.0.1:{https_port}",
                    directory / "moa.crt", directory / "error.log", directory / "access.log")
    finally:
        if process.poll() is None:
            process.send_signal(signal.SIGQUIT)  # graceful: workers finish their requests
            try:
                process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait(timeout=5)


def _wait_for_port(port: int, process: subprocess.Popen, timeout: float = 10) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"nginx exited: {process.stderr.read()}")
        with contextlib.suppress(OSError), socket.create_connection(("127.0.0.1", port), 0.5):
            return
        time.sleep(0.05)
    raise TimeoutError(f"nginx not listening on {port} within {timeout}s")
