#!/usr/bin/python3
"""The web inbox against the web, on real agents (`nrm demo --web`) over real HTTP:
a wrong Host header, POSTs without or with a wrong CSRF token or from a foreign Origin, another
agent's session cookie, an expired session: refused (403/401) and nothing changes; hostile
strings in every field are shown as text under a strict Content-Security-Policy; paths that try
to leave the inbox: 404; a 10 MiB body: refused unread; 1,000 failed logins: slowed down, while
the real user still logs in from another address."""
import os
import re
import socket
import subprocess
import sys
import time

sys.path.insert(0, os.path.dirname(__file__))
import webtest
from webtest import check

POLICE, SHELTER, NGO = "TH.POLICE.CRI-ATU", "TH.SHELTER.KREDTRAKARN", "TH.NGO.RETURN-CRI"
IDLE = 4  # seconds before a session ends


def referral(csrf, action, value, hostile_choices=False):
    """A referral form with `value` in every free-text field."""
    f = {"csrf": csrf, "action": action, "to": SHELTER, "label": value, "handling": "H1",
         "case.status": "Active", "case.reason_for_referral": value, "case.referral_date": "2026-12-01",
         "case.referring_organisation": POLICE, "case.referring_case_worker": value,
         "person.first_name": value, "person.second_name": value, "person.birth_date": "2001-04-05",
         "person.gender": "Feminine", "person.nationality": "MM", "person.phone": value,
         "person.languages": ["my"], "person.best_interests_assessment": value, "person.guardian": value,
         "context.places.recruitment.location": value, "context.places.transit.location": value,
         "context.places.exploitation.location": value, "needs.risk_to_person": "High",
         "needs.risk_from": value, "needs.transport_constraints": value,
         "investigation.evidence_refs": value,
         "consent.share_sections": ["person", "context", "needs"], "consent.share_with_roles": ["shelter"],
         "consent.purpose": value, "consent.date": "2026-12-01", "override": ""}
    if hostile_choices:
        for k in ("case.status", "person.gender", "person.nationality", "needs.risk_to_person",
                  "person.languages", "consent.share_with_roles", "case.referring_organisation"):
            f[k] = value
    return f


def activity(client):
    """The number of rows of the inbox's activity list (what changed)."""
    return client.get("/inbox").text.count("<tr")


def main():
    webtest.deadline(200)
    demo = webtest.Demo(idle_logout=IDLE)
    police_info, shelter_info = demo.agency(POLICE), demo.agency(SHELTER)
    police = webtest.Client(police_info["url"])
    police.login(police_info["user"], police_info["password"], "police-password-1")
    shelter = webtest.Client(shelter_info["url"])
    shelter.login(shelter_info["user"], shelter_info["password"], "shelter-password-1")
    before = activity(police)

    # Security headers on every page with case data.
    r = police.get("/inbox")
    check(r.status == 200, "the inbox is served to a logged-in user")
    csp = r.getheader("Content-Security-Policy") or ""
    check("default-src 'self'" in csp and "script-src 'self'" in csp and "unsafe-inline" not in csp,
          "a strict Content-Security-Policy: " + csp)
    check(r.getheader("X-Frame-Options") == "DENY", "X-Frame-Options: DENY")
    check(r.getheader("Cache-Control") == "no-store", "Cache-Control: no-store")
    check(r.getheader("X-Content-Type-Options") == "nosniff", "X-Content-Type-Options: nosniff")
    login = webtest.Client(police_info["url"]).post(
        "/login", {"user": police_info["user"], "password": "police-password-1"})
    set_cookie = login.getheader("Set-Cookie") or ""
    check("HttpOnly" in set_cookie and "SameSite=Strict" in set_cookie and "Path=/" in set_cookie,
          "the session cookie is HttpOnly; SameSite=Strict: " + set_cookie.split("=")[0])
    check(re.search(r"=[0-9a-f]{64};", set_cookie) is not None, "the session is 32 random bytes")

    # DNS rebinding: a Host header the inbox does not answer to.
    for method in ("GET", "POST"):
        r = police.request(method, "/inbox", body={"csrf": "x"},
                           headers={"Host": "attacker.example:%d" % police.port})
        check(r.status == 403, "%s with a wrong Host header: 403" % method)
    token = police.csrf("/new/referral_offer")
    r = police.post("/new/referral_offer", referral(token, "send", "CanaryHostHeader"),
                    headers={"Host": "rebind.example"})
    check(r.status == 403, "a referral sent with a wrong Host header: 403")

    # CSRF: no token, a wrong one, another form's, another session's.
    good = police.csrf("/new/referral_offer")
    other_form = police.csrf("/inbox")
    other_session = shelter.csrf("/inbox")
    for what, t in (("no", None), ("a wrong", "0" * 64), ("another form's", other_form),
                    ("another session's", other_session)):
        f = referral(good, "send", "CanaryCsrf")
        if t is None:
            del f["csrf"]
        else:
            f["csrf"] = t
        r = police.post("/new/referral_offer", f)
        check(r.status == 403, "a referral with %s CSRF token: 403" % what)
    r = police.post("/logout", {"csrf": "bad"})
    check(r.status == 403 and police.get("/inbox").status == 200, "logout with a bad token: 403, still logged in")

    # Origin: foreign, missing, cross-site fetch metadata.
    f = referral(good, "send", "CanaryOrigin")
    r = police.post("/new/referral_offer", f, headers={"Origin": "http://evil.example"})
    check(r.status == 403, "a POST from a foreign Origin: 403")
    r = police.post("/new/referral_offer", f, origin=False)
    check(r.status == 403, "a POST without Origin: 403")
    r = police.post("/new/referral_offer", f, headers={"Sec-Fetch-Site": "cross-site"})
    check(r.status == 403, "a POST the browser marks cross-site: 403")
    check(activity(police) == before, "none of these changed anything")

    # Another agent's session cookie.
    stolen = dict(shelter.cookies)
    r = police.get("/inbox", cookies=False, headers={
        "Cookie": "; ".join("%s=%s" % kv for kv in stolen.items())})
    check(r.status == 401, "the shelter's session cookie at the police's inbox: 401")
    (name, value), = stolen.items()
    police_cookie = list(police.cookies)[0]
    r = police.get("/inbox", cookies=False, headers={"Cookie": "%s=%s" % (police_cookie, value)})
    check(r.status == 401, "the shelter's session under the police's cookie name: 401")
    check(police_cookie != name, "each agency's inbox has its own cookie name")

    # Hostile text in every field: shown as text.
    script, img = "<script>alert('x')</script>", '"><img src=x onerror=alert(1)>'
    # The longest text the case data validation lets a field hold, and one far longer.
    long, too_long = "Q" * 4000, "Q" * 10000
    token = police.csrf("/new/referral_offer")
    r = police.post("/new/referral_offer", referral(token, "review", script, hostile_choices=True))
    check(r.status == 400, "hostile values in lists and choices: the form again, 400 (%d: %s)" % (r.status, webtest.text_of(r.text)[:600]))
    check(script not in r.text and "&lt;script&gt;" in r.text, "the form shows them as text")
    check("not an ISO 3166-1 alpha-2 country code" in r.text and "is not a value of HTCDS" in r.text,
          "with the case data validation's errors, next to the fields")
    for action in ("review", "send"):
        token = police.csrf("/new/referral_offer")
        r = police.post("/new/referral_offer", referral(token, action, too_long))
        check(r.status == 400 and r.text.count(too_long) >= 10 and "longer than 4000 bytes" in r.text,
              "10,000-character strings (%s): the form again, each shown whole as text, refused by "
              "the case data validation (%d)" % (action, r.status))
    check(activity(police) == before, "none of them was sent")
    sent = []
    for value in (script, img, long, "ทดสอบ ភាសាខ្មែរ မြန်မာ ພາສາລາວ " + img):
        token = police.csrf("/new/referral_offer")
        r = police.post("/new/referral_offer", referral(token, "review", value))
        check(r.status == 200 and value not in r.text if "<" in value else r.status == 200,
              "the review page shows %s as text" % repr(value[:20]))
        r = police.post("/new/referral_offer", referral(token, "send", value))
        check(r.status == 303, "and the referral is sent (%d)" % r.status)
        sent.append(r.getheader("Location").split("?")[0])
    case = police.get(sent[0])
    check(script not in case.text and "&lt;script&gt;alert(&#39;x&#39;)&lt;/script&gt;" in case.text,
          "the police's case page shows <script> as text")
    check(case.getheader("Content-Security-Policy") is not None, "with the CSP header")
    ref = sent[1].split("/")[-1]
    page = webtest.poll(lambda: (lambda t: t if ref in t and "onerror" in t else None)(
        shelter.get("/case/" + ref).text), "the shelter to receive the referral")
    check(img not in page and "&quot;&gt;&lt;img src=x onerror=alert(1)&gt;" in page,
          "the shelter's case page shows the <img onerror> as text")
    ref = sent[2].split("/")[-1]
    page = webtest.poll(lambda: (lambda t: t if long in t else None)(
        shelter.get("/case/" + ref).text), "the 4,000-character strings at the shelter")
    check(page.count(long) >= 10, "4,000-character strings are shown whole, as text")
    ref = sent[3].split("/")[-1]
    page = webtest.poll(lambda: (lambda t: t if "ภาสาลาว" in t or "ພາສາລາວ" in t else None)(
        shelter.get("/case/" + ref).text), "the Thai, Khmer, Burmese and Lao text at the shelter")
    check("ทดสอบ ភាសាខ្មែរ မြန်မာ ພາສາລາວ" in page, "Thai, Khmer, Burmese and Lao text shows as text")
    r = shelter.get("/inbox?q=" + "%3Cscript%3E")
    check("<script>" not in r.text.replace('<script src="/static/app.js" defer></script>', ""),
          "a search for <script> is shown as text")

    # Paths that try to leave the inbox.
    for path in ("/../../etc/passwd", "/static/../../etc/passwd", "/%2e%2e/%2e%2e/etc/passwd",
                 "/static/%2e%2e/%2e%2e/etc/passwd", "/static/..%2f..%2fetc%2fpasswd",
                 "/static/%2e%2e%2f%2e%2e%2fetc%2fpasswd", "//etc/passwd", "/static//etc/passwd",
                 "/static/style.css/../../../etc/passwd", "/static/..%5c..%5cetc%5cpasswd",
                 "/etc/passwd", "/static/..%00/etc/passwd", "/static/%00../../etc/passwd"):
        for c in (police, webtest.Client(police_info["url"])):
            r = c.get(path)
            check(r.status == 404 and "root:" not in r.text, "GET %s: 404 (%s)" % (
                path, "logged in" if c is police else "no session"))
    check(police.get("/static/style.css").status == 200, "the style sheet itself is served")

    # A 10 MiB body: refused before it is read.
    s = socket.create_connection(("127.0.0.1", police.port), timeout=10)
    head = ("POST /new/referral_offer HTTP/1.1\r\nHost: 127.0.0.1:%d\r\nOrigin: %s\r\n"
            "Content-Type: application/x-www-form-urlencoded\r\nContent-Length: %d\r\n"
            "Cookie: %s\r\n\r\n" % (police.port, police.origin, 10 * 1024 * 1024,
                                    "; ".join("%s=%s" % kv for kv in police.cookies.items())))
    s.sendall(head.encode())
    t0 = time.time()
    answer = s.recv(4096).decode("latin-1")
    check(answer.startswith("HTTP/1.1 413"), "a 10 MiB POST: 413 before a byte of its body")
    check(time.time() - t0 < 5, "at once")
    try:
        s.sendall(b"x" * (4 * 1024 * 1024))
        rest = s.recv(4096)
        check(rest == b"", "and the connection is closed rather than read")
    except (ConnectionResetError, BrokenPipeError):
        check(True, "and the connection is closed rather than read")
    s.close()
    s = socket.create_connection(("127.0.0.1", police.port), timeout=10)
    s.sendall(("POST /login HTTP/1.1\r\nHost: 127.0.0.1:%d\r\nOrigin: %s\r\n"
               "Transfer-Encoding: chunked\r\n\r\n" % (police.port, police.origin)).encode())
    taken = 0
    try:
        for _ in range(12):
            s.sendall(b"100000\r\n" + b"a" * 0x100000 + b"\r\n")
            taken += 1
        answer = s.recv(4096).decode("latin-1")
    except (ConnectionResetError, BrokenPipeError):
        answer = ""
    # The refusal may be lost in the reset of a connection closed with unread data in it.
    check(answer.startswith("HTTP/1.1 413") or taken < 12,
          "a 12 MiB chunked POST: refused after %d MiB, not read to its end" % taken)
    s.close()
    check(police.get("/inbox").status == 200, "the inbox is still served")

    # 1,000 failed logins: slowed down; the real user still logs in from another address.
    ngo_info = demo.agency(NGO)
    attacker = webtest.Client(ngo_info["url"], source="127.0.0.1")
    codes = {}
    t0 = time.time()
    for i in range(1000):
        r = attacker.post("/login", {"user": ngo_info["user"], "password": "guess-%d" % i})
        codes[r.status] = codes.get(r.status, 0) + 1
    check(codes.get(429, 0) >= 990, "1,000 failed logins: %s (429: wait)" % codes)
    check(time.time() - t0 < 60, "answered in %.1f s: the wait costs the attacker, not the agent" % (
        time.time() - t0))
    r = attacker.post("/login", {"user": ngo_info["user"], "password": ngo_info["password"]})
    check(r.status == 429, "the right password from the attacking address is slowed too")
    desk = webtest.Client(ngo_info["url"], source="127.0.0.2")
    desk.login(ngo_info["user"], ngo_info["password"], "ngo-password-1")
    check(desk.get("/inbox").status == 200, "the real user logs in from another address")
    log = open(os.path.join(demo.info["logs"], NGO + ".agent.out")).read()
    check("failed login for user 'supervisor' from 127.0.0.1" in log, "failed logins are logged")

    # An expired session: refused, and nothing changes.
    r = police.post("/logout", {"csrf": police.csrf("/inbox", "/logout")})
    idle = webtest.Client(police_info["url"])
    idle.login(police_info["user"], "police-password-1")
    token = idle.csrf("/new/referral_offer")
    count = activity(idle)
    # The page's own live updates do not keep an unattended session alive.
    end = time.time() + IDLE + 1.5
    while time.time() < end:
        idle.get("/updates")
        time.sleep(0.5)
    check(idle.get("/updates").status == 401, "live updates did not keep the session alive")
    r = idle.post("/new/referral_offer", referral(token, "send", "CanaryExpired"))
    check(r.status == 401, "a referral sent after the idle logout: 401")
    check(idle.get("/inbox").status == 401, "the inbox after the idle logout: 401")
    fresh = webtest.Client(police_info["url"])
    fresh.login(police_info["user"], "police-password-1")
    check(activity(fresh) == count, "nothing was sent")

    # A disabled user is out at once.
    subprocess.run([os.path.join(webtest.BIN, "nrm-agent"), "--config", police_info["config"], "user",
                    "disable", police_info["user"]], check=True, capture_output=True)
    check(fresh.get("/inbox").status == 401, "a disabled user's session ends at once")
    r = webtest.Client(police_info["url"]).post(
        "/login", {"user": police_info["user"], "password": "police-password-1"})
    check(r.status == 401, "and cannot log in")

    check(demo.stop() == 0, "every process stopped cleanly")
    print("security_test: OK")


if __name__ == "__main__":
    main()
