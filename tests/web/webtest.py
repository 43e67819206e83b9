"""What the web inbox's tests share: a running `nrm demo --web` (a broker and one agent per
agency, real processes on 127.0.0.1, each serving its inbox), a small HTTP client that speaks
like a browser (cookies, Origin, CSRF tokens read from the forms), and headless Chromium.

Every process a test starts dies with it: the demo runs in its own process group, which is
ended at exit, on SIGTERM and when the test's overall deadline passes; the demo itself stops
its broker and agents when its parent goes away.
"""
import atexit
import html.parser
import http.client
import json
import os
import re
import signal
import subprocess
import sys
import tempfile
import time
import urllib.parse

BIN = os.environ.get("NRM_BIN_DIR", os.path.join(os.path.dirname(__file__), "../../build/bin"))
_demos = []
_drivers = []


def _cleanup(*_):
    for d in list(_drivers):
        try:
            d.quit()
        except Exception:
            pass
    for p in list(_demos):
        if p.poll() is None:
            try:
                os.killpg(p.pid, signal.SIGTERM)
                p.wait(timeout=15)
            except Exception:
                try:
                    os.killpg(p.pid, signal.SIGKILL)
                except Exception:
                    pass


def _on_signal(signum, _frame):
    _cleanup()
    sys.exit(128 + signum)


atexit.register(_cleanup)
signal.signal(signal.SIGTERM, _on_signal)
signal.signal(signal.SIGALRM, _on_signal)


def deadline(seconds):
    """Ends the test (and everything it started) after `seconds`."""
    signal.alarm(seconds)


def check(cond, what):
    if not cond:
        raise AssertionError(what)
    print("ok:", what, flush=True)


class Demo:
    """`nrm demo --web --json` in a fresh directory."""

    def __init__(self, idle_logout=900, workdir=None):
        self.workdir = workdir or tempfile.mkdtemp(prefix="nrm-web-test-")
        log = open(os.path.join(self.workdir + ".log"), "w")
        self.proc = subprocess.Popen(
            [os.path.join(BIN, "nrm"), "demo", "--web", "--workdir", os.path.join(self.workdir, "demo"),
             "--port-base", "0", "--idle-logout", str(idle_logout), "--json"],
            stdout=subprocess.PIPE, stderr=log, text=True, start_new_session=True)
        _demos.append(self.proc)
        line = self.proc.stdout.readline()
        if not line:
            raise RuntimeError("nrm demo --web did not start: " + open(self.workdir + ".log").read())
        self.info = json.loads(line)
        self.agencies = {a["id"]: a for a in self.info["agencies"]}

    def stop(self):
        """Stops every process cleanly (the demo stops its broker and agents); returns the demo's
        exit code."""
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
        return self.proc.wait(timeout=30)

    def agency(self, id_):
        return self.agencies[id_]


class _Forms(html.parser.HTMLParser):
    """The forms of a page: action -> {name: [values]} of their hidden inputs."""

    def __init__(self):
        super().__init__()
        self.forms, self._action = {}, None

    def handle_starttag(self, tag, attrs):
        a = dict(attrs)
        if tag == "form":
            self._action = a.get("action", "")
            self.forms.setdefault(self._action, {})
        elif tag == "input" and self._action is not None and a.get("type") == "hidden":
            self.forms[self._action].setdefault(a.get("name"), []).append(a.get("value", ""))

    def handle_endtag(self, tag):
        if tag == "form":
            self._action = None


class Client:
    """A browser-like HTTP client for one inbox: keeps its cookies, sends Origin on POST."""

    def __init__(self, url, source=None):
        u = urllib.parse.urlsplit(url)
        self.host, self.port, self.https = u.hostname, u.port, u.scheme == "https"
        self.origin = "%s://%s:%d" % (u.scheme, u.hostname, u.port)
        self.cookies = {}
        self.source = source  # the address to connect from, e.g. "127.0.0.2"

    def _conn(self):
        src = (self.source, 0) if self.source else None
        if self.https:
            import ssl
            ctx = ssl.create_default_context()
            ctx.check_hostname = False
            ctx.verify_mode = ssl.CERT_NONE
            return http.client.HTTPSConnection(self.host, self.port, source_address=src, context=ctx,
                                               timeout=60)
        return http.client.HTTPConnection(self.host, self.port, source_address=src, timeout=60)

    def request(self, method, path, body=None, headers=None, origin=True, cookies=True):
        h = {"Host": "%s:%d" % (self.host, self.port)}
        if cookies and self.cookies:
            h["Cookie"] = "; ".join("%s=%s" % kv for kv in self.cookies.items())
        if method == "POST" and origin:
            h["Origin"] = self.origin
        if isinstance(body, dict) or isinstance(body, list):
            body = urllib.parse.urlencode(body, doseq=True)
            h["Content-Type"] = "application/x-www-form-urlencoded"
        h.update(headers or {})
        c = self._conn()
        c.request(method, path, body=body, headers=h)
        r = c.getresponse()
        data = r.read().decode("utf-8", "replace")
        for k, v in r.getheaders():
            if k.lower() == "set-cookie" and cookies:  # a request with its own cookies keeps the jar
                name, _, rest = v.partition("=")
                value = rest.split(";")[0]
                if "Max-Age=0" in v:
                    self.cookies.pop(name, None)
                else:
                    self.cookies[name] = value
        c.close()
        r.text = data
        return r

    def get(self, path, **kw):
        return self.request("GET", path, **kw)

    def post(self, path, fields, **kw):
        return self.request("POST", path, body=fields, **kw)

    def csrf(self, page_path, action=None):
        """The CSRF token of the form posting to `action` (default: `page_path`) on a page."""
        p = _Forms()
        p.feed(self.get(page_path).text)
        form = p.forms.get(action or page_path, {})
        return form.get("csrf", [""])[0]

    def login(self, user, password, new_password=None):
        r = self.post("/login", {"user": user, "password": password, "next": "/inbox"})
        if r.status != 303:
            raise AssertionError("login failed: %d %s" % (r.status, r.text[:300]))
        if r.getheader("Location") == "/password":
            if not new_password:
                raise AssertionError("a new password is needed")
            token = self.csrf("/password")
            r = self.post("/password", {"csrf": token, "current_password": password,
                                        "new_password": new_password,
                                        "new_password_again": new_password})
            if r.status != 303:
                raise AssertionError("password change failed: %d %s" % (r.status, r.text[:300]))
        return r


def poll(fn, what, timeout=30.0, every=0.25):
    """Calls fn() until it returns something true, for at most `timeout` seconds."""
    end = time.time() + timeout
    while True:
        v = fn()
        if v:
            return v
        if time.time() > end:
            raise AssertionError("timed out waiting for " + what)
        time.sleep(every)


def chrome(lang="en", width=1280, height=1000):
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service
    o = webdriver.ChromeOptions()
    o.binary_location = "/usr/bin/chromium"
    for a in ("--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
              "--window-size=%d,%d" % (width, height), "--lang=" + lang,
              "--disable-extensions", "--no-first-run", "--password-store=basic"):
        o.add_argument(a)
    d = webdriver.Chrome(service=Service("/usr/bin/chromedriver"), options=o)
    d.set_page_load_timeout(60)
    _drivers.append(d)
    return d


def text_of(html_text):
    return re.sub(r"<[^>]+>", " ", html_text)
