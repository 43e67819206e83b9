#!/usr/bin/python3
"""The web inbox over TLS: with tls_cert and tls_key in [web] the agent serves HTTPS only (HSTS,
a __Host- cookie marked Secure); a non-loopback address without them is refused at start, naming
the config line. Uses the setup of `nrm demo --web` (stopped), one agent, a throwaway
self-signed certificate made with openssl."""
import http.client
import os
import re
import subprocess
import sys
import time

sys.path.insert(0, os.path.dirname(__file__))
import webtest
from webtest import check

POLICE = "TH.POLICE.CRI-ATU"


def set_web(config, lines):
    text = open(config).read()
    head, _, _ = text.partition("\n[web]\n")
    open(config, "w").write(head + "\n[web]\n" + "".join(l + "\n" for l in lines))


def main():
    webtest.deadline(120)
    demo = webtest.Demo()
    info = demo.agency(POLICE)
    check(demo.stop() == 0, "the demo's setup is made (and its processes stopped)")
    config, data = info["config"], info["data_dir"]
    d = os.path.dirname(config)
    cert, key = os.path.join(d, "web.crt"), os.path.join(d, "web.key")
    subprocess.run(["openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1",
                    "-nodes", "-keyout", key, "-out", cert, "-days", "2", "-subj", "/CN=localhost"],
                   check=True, capture_output=True)
    os.chmod(key, 0o600)
    agent = os.path.join(webtest.BIN, "nrm-agent")

    # Off loopback without TLS: refused at start.
    set_web(config, ['listen = "0.0.0.0:0"'])
    r = subprocess.run([agent, "--config", config, "run"], capture_output=True, text=True, timeout=30)
    check(r.returncode == 2 and "not a loopback address" in r.stderr and re.search(r"\.toml:\d+", r.stderr),
          "listen on 0.0.0.0 without tls_cert and tls_key: refused, exit 2: " + r.stderr.strip())

    # With TLS: HTTPS only.
    set_web(config, ['listen = "127.0.0.1:0"', 'tls_cert = "web.crt"', 'tls_key = "web.key"'])
    os.remove(os.path.join(data, "web.url"))
    log = open(os.path.join(d, "tls-agent.log"), "w")
    p = subprocess.Popen([agent, "--config", config, "run"], stdout=log, stderr=log, start_new_session=True)
    try:
        url_file = os.path.join(data, "web.url")
        webtest.poll(lambda: os.path.exists(url_file) and os.path.getsize(url_file) > 0, "the agent to serve")
        url = open(url_file).read().strip()
        check(url.startswith("https://127.0.0.1:"), "the inbox is at " + url)
        c = webtest.Client(url)
        r = c.get("/login")
        check(r.status == 200, "GET /login over HTTPS")
        check((r.getheader("Strict-Transport-Security") or "").startswith("max-age="), "with HSTS")
        r = c.post("/login", {"user": info["user"], "password": info["password"], "next": "/inbox"})
        cookie = r.getheader("Set-Cookie") or ""
        check(r.status == 303 and cookie.startswith("__Host-nrm-") and "; Secure" in cookie,
              "the session cookie is __Host- and Secure: " + cookie.split("=")[0])
        plain = http.client.HTTPConnection("127.0.0.1", c.port, timeout=10)
        try:
            plain.request("GET", "/login", headers={"Host": "127.0.0.1:%d" % c.port})
            status = plain.getresponse().status
        except (http.client.HTTPException, ConnectionError, OSError):
            status = None
        check(status != 200, "plain HTTP on the same port gets no page (%s)" % status)
    finally:
        p.terminate()
        code = p.wait(timeout=15)
    check(code == 0, "the agent stopped cleanly")
    print("tls_test: OK")


if __name__ == "__main__":
    main()
