#!/usr/bin/python3
"""Scenarios 1 and 2 of DOMAIN.md in real browsers (Debian's headless Chromium, driven by
python3-selenium), against real agents and a real broker (`nrm demo --web`).

  browser_test.py scenario1   the police, reading Thai, get the form's errors in Thai; they
                              refer a person to a shelter, which declines for lack
                              of capacity; the police offer the person to a second shelter,
                              which accepts and confirms the handover; the police print the
                              handover record, review what closing sends and close the case,
                              (the second shelter adds counselling notes for the first, which
                              the police never see; the timeline and a route the policy refuses
                              are read in Thai, with the broker's refusal of the step sent),
                              whose page says when retention will erase it; every step is
                              delivered with a signed receipt; a supervisor erases the case,
                              which the list of erased cases then holds. Then the broker stops
                              answering: every page says the agent is not connected, and a
                              referral made meanwhile waits to send, first in the inbox, until
                              the broker is back and it is delivered
  browser_test.py scenario2   a Thai NGO asks a Cambodian NGO to trace a family; the Cambodian
                              NGO answers (after a review of what the answer sends); the rest
                              of the return through the step forms, each that sends case data
                              reviewed first

Each page is saved as a screenshot in $NRM_SCREENSHOTS. Afterwards the persons' names typed into
the forms (fresh canary strings) must appear in no file of the broker's data directory or of
any log, and in the agents' data directories only encrypted."""
import base64
import os
import secrets
import signal
import subprocess
import sys
import time

sys.path.insert(0, os.path.dirname(__file__))
import webtest
from webtest import check
from selenium.common.exceptions import StaleElementReferenceException, WebDriverException
from selenium.webdriver.common.by import By
from selenium.webdriver.support.ui import Select, WebDriverWait

SHOTS = os.environ.get("NRM_SCREENSHOTS", "web-screenshots")
POLICE, SHELTER_A, SHELTER_B = "TH.POLICE.CRI-ATU", "TH.SHELTER.KREDTRAKARN", "TH.SHELTER.BAN-PING"
TH_NGO, KH_NGO = "TH.NGO.RETURN-CRI", "KH.NGO.PP-CARE"


class Browser:
    """One person at one desk: a Chromium, logged in to one or more inboxes."""

    def __init__(self, name, lang="en"):
        self.name, self.d = name, webtest.chrome(lang)

    def shot(self, what, full=True):
        os.makedirs(SHOTS, exist_ok=True)
        path = os.path.join(SHOTS, "%s-%s.png" % (self.name, what))
        if full:
            h = self.d.execute_script("return document.documentElement.scrollHeight")
            self.d.set_window_size(1280, min(max(h, 700), 6000))
        self.d.save_screenshot(path)
        self.d.set_window_size(1280, 1000)
        return path

    def go(self, url):
        self.d.get(url)

    def el(self, css):
        return self.d.find_element(By.CSS_SELECTOR, css)

    def by_id(self, id_):
        return self.d.find_element(By.ID, id_)

    def type(self, id_, text):
        e = self.by_id(id_)
        e.clear()
        e.send_keys(text)

    def choose(self, id_, value):
        Select(self.by_id(id_)).select_by_value(value)

    def tick(self, group_id, value, on=True):
        box = self.d.find_element(By.CSS_SELECTOR, '[id="%s"] input[value="%s"]' % (group_id, value))
        if box.is_selected() != on:
            box.click()

    def click(self, id_):
        """Clicks a button or link and waits for the page it leads to."""
        self.follow(self.by_id(id_))

    def follow(self, element):
        old = self.d.find_element(By.TAG_NAME, "html")
        self.d.execute_script("arguments[0].scrollIntoView({block: 'center'})", element)
        element.click()

        def replaced(_):
            try:
                old.is_enabled()
                return False
            except StaleElementReferenceException:
                return True
            except WebDriverException as e:
                # Chromium's answer for a node of the document being replaced (seen under load)
                if "does not belong to the document" in str(e):
                    return True
                raise
        WebDriverWait(self.d, 30).until(replaced)

    def link(self, text):
        self.follow(self.d.find_element(By.LINK_TEXT, text))

    def text(self):
        return self.d.find_element(By.TAG_NAME, "body").text

    def wait_text(self, want, refresh=True, timeout=40):
        def seen():
            if want in self.text():
                return True
            if refresh:
                self.d.refresh()
            return False
        webtest.poll(seen, "'%s' on %s's page" % (want, self.name), timeout=timeout, every=0.5)

    def login(self, agency, new_password, shots=False):
        self.go(agency["url"] + "/login")
        if shots:
            self.shot("login")
        self.type("user", agency["user"])
        self.type("password", agency["password"])
        self.click("login")
        check("/password" in self.d.current_url, "%s: a one-time password asks for a new one" % self.name)
        if shots:
            self.shot("new-password")
        self.type("current_password", agency["password"])
        self.type("new_password", new_password)
        self.type("new_password_again", new_password)
        self.click("save-password")
        check(self.d.current_url.endswith("/inbox"), "%s: logged in to %s" % (self.name, agency["id"]))

    def print_pdf(self, what):
        """The page as printed (the print style sheet), as a PDF and a screenshot."""
        self.d.execute_cdp_cmd("Emulation.setEmulatedMedia", {"media": "print"})
        self.shot(what)
        pdf = self.d.execute_cdp_cmd("Page.printToPDF", {"printBackground": False})
        self.d.execute_cdp_cmd("Emulation.setEmulatedMedia", {"media": ""})
        data = base64.b64decode(pdf["data"])
        with open(os.path.join(SHOTS, "%s-%s.pdf" % (self.name, what)), "wb") as f:
            f.write(data)
        return data


def fill_referral(b, to, label, name, birth):
    b.choose("f-to", to)
    b.type("f-label", label)
    b.type("f-case.reason_for_referral", "Presumed victim identified in a raid on a karaoke bar")
    b.type("f-person.first_name", name)
    b.type("f-person.second_name", "Aung")
    b.type("f-person.birth_date", birth)
    b.choose("f-person.gender", "Feminine")
    b.choose("f-person.nationality", "MM")
    b.tick("f-person.languages", "my")
    b.tick("f-person.languages", "th")
    b.tick("f-context.recruitment_methods", "ThroughFriendsOrSocialEvents")
    b.tick("f-context.control_methods", "DebtBondage")
    b.tick("f-context.exploitation_types", "SexualExploitation")
    b.tick("f-needs.immediate_needs", "Medical")
    b.tick("f-needs.immediate_needs", "Interpretation")
    b.choose("f-needs.risk_to_person", "High")
    b.type("f-needs.risk_from", "the recruiter's network")
    b.type("f-investigation.evidence_refs", "CRI-2026-0412")
    for s in ("person", "context", "needs", "counselling"):
        b.tick("f-consent.share_sections", s)
    b.tick("f-consent.share_with_roles", "shelter")
    b.type("f-consent.purpose", "protection and shelter")


def privacy(demo, canaries):
    """No canary at the broker or in any log; in the agents' data only encrypted."""
    demo_dir = demo.info["workdir"]
    roots = [demo.info["broker_data"], demo.info["logs"]]
    scanned = 0
    for root in roots:
        for dirpath, _, files in os.walk(root):
            for f in files:
                data = open(os.path.join(dirpath, f), "rb").read()
                scanned += 1
                for c in canaries:
                    check(c.encode() not in data, "%s not in %s" % (c, os.path.join(dirpath, f))) \
                        if c.encode() in data else None
    check(scanned > 10, "no canary name in any of the %d files of the broker's data and the logs" % scanned)
    agents = os.path.join(demo_dir, "agents")
    count = 0
    for dirpath, _, files in os.walk(agents):
        for f in files:
            data = open(os.path.join(dirpath, f), "rb").read()
            count += 1
            for c in canaries:
                if c.encode() in data:
                    raise AssertionError("%s in the clear in %s" % (c, os.path.join(dirpath, f)))
    check(count > 10, "in the agents' %d files the names are only encrypted" % count)


def scenario1():
    webtest.deadline(400)
    demo = webtest.Demo()
    police_info, a_info, b_info = (demo.agency(x) for x in (POLICE, SHELTER_A, SHELTER_B))
    canary = "CanaryNang" + secrets.token_hex(4)
    police, shelters = Browser("police"), Browser("shelter")
    police.login(police_info, "police-password-1", shots=True)
    police.shot("inbox-empty")

    thai_form_errors(police, police_info, canary)

    # The police fill the referral form and review what each recipient will get.
    police.go(police_info["url"] + "/new/referral_offer")
    fill_referral(police, SHELTER_A, "victim-2", canary, "2002-03-14")
    police.shot("referral-form")
    police.click("review")
    body = police.text()
    check("It will receive" in body and "Withheld by the policy" in body, "the review says what goes where")
    withheld = police.el(".recipient-sections tr:nth-child(2)").text
    check("Investigation" in withheld, "the investigation is withheld from the shelter: " + withheld)
    police.shot("review")
    police.click("send")
    check("/case/" in police.d.current_url, "the referral is sent; its case page opens (%s: %s)" % (police.d.current_url, police.text()[:800]))
    ref = police.d.current_url.split("/case/")[1].split("?")[0]
    police.shot("case-offered")

    # The same person again (name and birth date): the review warns of the open case.
    police.go(police_info["url"] + "/new/referral_offer")
    fill_referral(police, SHELTER_B, "victim-2-again", canary, "2002-03-14")
    police.click("review")
    check("victim-2" in police.by_id("duplicate").text, "a warning: the person already has an open case")
    check(police.by_id("new-case").get_attribute("type") == "checkbox",
          "a new case for the same person needs an explicit choice")
    police.shot("review-duplicate")
    police.click("send")
    check("already has an open case here" in police.by_id("refused").text and
          "/case/" not in police.d.current_url, "without it, nothing is sent")

    # The first shelter sees it in its inbox and declines for lack of capacity.
    shelters.login(a_info, "shelter-a-password-1")
    shelters.wait_text("Offer waiting for your decision")
    row = shelters.el("#needs-action tr.action-row")
    check("Chiang Rai Provincial Police" in row.text and "High" in row.text and "H0" in row.text,
          "the inbox row: the police, the kind, the risk, the handling code: " + row.text)
    shelters.shot("inbox-offer")
    shelters.follow(shelters.el("#needs-action a.why"))
    check(canary in shelters.text(), "the shelter's case page shows the person")
    check("Investigation" not in shelters.text() or "CRI-2026-0412" not in shelters.text(),
          "and not the investigation")
    shelters.shot("case-received")
    shelters.link("Decline")
    shelters.choose("f-reason", "lack_of_capacity")
    shelters.type("f-note", "no bed free this week")
    shelters.shot("decline-form")
    shelters.click("take-step")
    check("declined" in shelters.el("h1 .state").text, "the shelter declined")

    # The police see the decline, and offer the person to the second shelter.
    police.go(police_info["url"] + "/inbox")
    police.wait_text("Declined: offer the person elsewhere")
    police.shot("inbox-declined")
    police.follow(police.el("#needs-action a.why"))
    check("Lack of capacity" in police.text(), "the reason of the decline, in words")
    police.link("Offer to another agency")
    check(police.by_id("f-person.first_name").get_attribute("value") == canary,
          "the new offer starts from what the police hold")
    options = [o.get_attribute("value") for o in Select(police.by_id("f-to")).options]
    check(SHELTER_A not in options and SHELTER_B in options, "the shelter that declined is not offered again")
    police.choose("f-to", SHELTER_B)
    police.click("review")
    police.click("send")
    check(ref in police.d.current_url, "the same case, offered again")

    # The second shelter accepts, and confirms the handover when the person arrives.
    shelters.login(b_info, "shelter-b-password-1")
    shelters.wait_text("Offer waiting for your decision")
    shelters.follow(shelters.el("#needs-action a.why"))
    shelters.link("Accept")
    shelters.type("f-note", "a bed is ready")
    shelters.click("take-step")
    check("accepted" in shelters.el("h1 .state").text, "the second shelter accepted")
    shelters.wait_text("Confirm handover")
    shelters.link("Confirm handover")
    shelters.click("take-step")
    check("handed over" in shelters.el("h1 .state").text, "the handover is confirmed")
    shelters.shot("case-handed-over")
    note = "CanaryNote" + secrets.token_hex(4)
    counselling_notes(shelters, b_info, ref, note)

    # The police: the case is handed over; they print the handover record and close the case.
    police.go(police_info["url"] + "/case/" + ref)
    police.wait_text("handed over")
    pdf = police.print_pdf("handover-record")
    check(pdf.startswith(b"%PDF") and pdf.count(b"/Type /Page\n") + pdf.count(b"/Type/Page") <= 2,
          "the handover record prints (%d bytes)" % len(pdf))
    check("The person withdrew consent" in police.el("#actions").text,
          "the police, who recorded the consent, may withdraw it")
    police.link("Close the case")
    police.choose("f-outcome", "success")
    police.click("take-step")
    # Closing carries the case section: the review says what each shelter receives.
    review = police.by_id("review-step").text
    recipients = police.d.find_elements(By.CSS_SELECTOR, ".recipient-sections")
    check("Close the case" in review and len(recipients) == 2 and
          all("Case" in r.text for r in recipients),
          "before closing, a review names what each shelter will receive: " +
          " | ".join(r.text for r in recipients))
    police.shot("close-review")
    police.click("send")
    check("closed" in police.el("h1 .state").text, "the police closed the case")
    retention = police.by_id("retention").text
    check("Closed on" in retention and "365 days after it was closed" in retention,
          "the case page says when the retention rule will erase the case: " + retention)
    police.shot("case-closed", full=False)

    # Every step the police took was delivered, each with a signed receipt.
    def all_delivered():
        police.d.refresh()
        steps = police.d.find_elements(By.CSS_SELECTOR, "#timeline li.step:not(.receipt)")
        mine = [s for s in steps if "by supervisor" in s.text]
        return len(mine) >= 3 and all("delivered" in s.text and "Signed receipt from" in s.text
                                      for s in mine)
    webtest.poll(all_delivered, "every step of the police delivered with a receipt", timeout=40)
    steps = police.d.find_elements(By.CSS_SELECTOR, "#timeline li.step:not(.receipt)")
    kinds = " | ".join(s.text.split("\n")[0] for s in steps)
    for k in ("Referral offer", "Referral declined", "Referral accepted", "Handover confirmed",
              "Case closed"):
        check(k in kinds, "the timeline holds: " + k)
    offer = [s for s in steps if s.text.startswith("Referral offer") or "Referral offer" in s.text.split("\n")[0]][0]
    sent = offer.find_element(By.CSS_SELECTOR, ".sections").text
    check("Person" in sent and "Investigation" in sent.split("Withheld by the policy")[1],
          "each sent step says what it carried and what the policy withheld: " + sent)
    police.shot("case-timeline")
    check(note not in police.text(), "the police never see the counselling notes")
    thai_timeline(police, police_info, ref)
    refused_route_th(police, police_info, canary)
    police.go(police_info["url"] + "/inbox")
    police.shot("inbox-activity")
    police.type("name", canary[:-2])
    police.follow(police.d.find_elements(By.CSS_SELECTOR, ".search button")[1])
    check("victim-2" in police.el("#activity").text and canary not in police.d.current_url,
          "a search by the person's name finds the case (and the name is in no URL)")

    erase(police, police_info, ref, canary)
    outage(demo, police, police_info, canary)
    check(demo.stop() == 0, "every process stopped cleanly")
    privacy(demo, [canary, note])
    print("browser_test scenario1: OK")


def set_language(b, lang):
    b.choose("lang-select", lang)
    b.follow(b.d.find_element(By.CSS_SELECTOR, "form[action='/language'] button"))


def thai_form_errors(police, police_info, canary):
    """A user who reads Thai gets the validation's messages in Thai, the ones with values too: a
    Buddhist-era birth date with the date to write, a text too long for its field; and the
    review's reason why the consent does not cover a recipient."""
    police.go(police_info["url"] + "/new/referral_offer")
    set_language(police, "th")
    fill_referral(police, SHELTER_A, "victim-th", canary, "29/11/2569")
    police.d.execute_script("arguments[0].value = arguments[1]",
                            police.by_id("f-needs.risk_from"), "x" * 4001)
    police.click("review")
    errors = [e.text for e in police.d.find_elements(By.CSS_SELECTOR, ".field.invalid .field-error")]
    summary = police.by_id("form-errors").text
    check("29/11/2569 ดูเหมือนเป็นวันที่แบบพุทธศักราช: ให้เขียนเป็น ค.ศ. 2026-11-29" in errors and
          "ยาวเกิน 4000 ไบต์" in errors,
          "the form's errors in Thai, with their values: " + " | ".join(errors))
    check("looks like" not in summary and "longer than" not in summary and
          "Buddhist" not in police.text(), "and no English: " + summary)
    police.shot("referral-errors-th")
    # Corrected, but with a consent that names NGOs and not shelters: the review says, in Thai,
    # that the consent does not cover the shelter.
    police.type("f-person.birth_date", "2002-03-14")
    police.type("f-needs.risk_from", "the recruiter's network")
    police.tick("f-consent.share_with_roles", "shelter", on=False)
    police.tick("f-consent.share_with_roles", "ngo")
    police.click("review")
    problem = police.el(".consent-problem").text
    check("ความยินยอมของบุคคลไม่ครอบคลุมการแบ่งปันกับ TH.SHELTER.KREDTRAKARN" in problem and
          "does not cover" not in problem, "the review's consent problem in Thai: " + problem)
    police.shot("review-consent-th")
    set_language(police, "en")


def counselling_notes(shelters, info, ref, note):
    """The shelter that holds the person adds counselling notes for another shelter: the form
    offers only the caregivers the policy allows, the server checks the notes, the review says
    what the other shelter receives, and the case page shows the notes."""
    shelters.go(info["url"] + "/case/" + ref)
    shelters.link("Add counselling notes")
    options = [o.get_attribute("value") for o in Select(shelters.by_id("f-to")).options]
    check(POLICE not in options and SHELTER_A in options,
          "counselling notes go only to a caregiver: " + ", ".join(options))
    shelters.choose("f-to", SHELTER_A)
    # Without the browser's own check, the server refuses the form without its notes.
    shelters.d.execute_script(
        "document.getElementById('f-counselling.notes').removeAttribute('required')")
    shelters.click("take-step")
    invalid = shelters.d.find_elements(By.CSS_SELECTOR, ".field.invalid [id='f-counselling.notes']")
    check(len(invalid) == 1, "the server names the missing notes at their field")
    shelters.type("f-counselling.notes", note + " sleeps better, attends the group sessions")
    shelters.type("f-counselling.health_notes", "no medication")
    shelters.shot("counselling-form")
    shelters.click("take-step")
    receives = shelters.el(".recipient-sections tr:nth-child(1)").text
    check("Counselling and health" in receives,
          "the review says the other shelter receives the notes: " + receives)
    shelters.click("send")
    held = shelters.el("section.held").text
    check("Counselling and health" in held and note in held and "no medication" in held,
          "the case page shows the notes: " + held[:400])
    shelters.shot("case-counselling")


def thai_timeline(police, police_info, ref):
    """The timeline in Thai: each step's delivery, the broker's receipt and the signed receipts."""
    police.go(police_info["url"] + "/case/" + ref)
    set_language(police, "th")
    steps = police.d.find_elements(By.CSS_SELECTOR, "#timeline li.step:not(.receipt)")
    text = " | ".join(s.text for s in steps)
    check("ส่งถึงแล้ว" in text and "ของบันทึกตรวจสอบ" in text and "ใบตอบรับที่ลงนามจาก" in text,
          "the timeline's delivery, the broker's receipt and the signed receipts in Thai: " + text[:600])
    check("delivered" not in text and "audit leaf" not in text and "checkpoint" not in text,
          "and no English: " + text[:600])
    police.shot("case-timeline-th")


def refused_route_th(police, police_info, canary):
    """A Thai reader offers a person to a Cambodian NGO, a route the policy refuses: the review
    says why in Thai; sent anyway, the broker refuses it, and the timeline says so in Thai, with
    the policy's reason and what to do."""
    police.go(police_info["url"] + "/new/referral_offer")
    fill_referral(police, SHELTER_A, "victim-route", canary, "2003-04-15")
    police.tick("f-consent.share_with_roles", "ngo")
    # The form offers only the routes the policy allows: the choice is forced, as a forged POST.
    police.d.execute_script(
        "var s = document.getElementById('f-to'), o = document.createElement('option');"
        "o.value = arguments[0]; o.text = arguments[0]; s.appendChild(o); s.value = o.value;", KH_NGO)
    police.click("review")
    why = police.by_id("route-refused").text
    check("ไม่มีกฎข้ามพรมแดนที่อนุญาต" in why and "ตำรวจ" in why and "TH -> KH" in why and
          "no cross-border rule" not in why, "the review gives the policy's reason in Thai: " + why)
    police.shot("review-route-refused-th")
    police.click("send")
    check("/case/" in police.d.current_url, "sent anyway, the step is taken")

    def refused():
        police.d.refresh()
        return police.d.find_elements(By.CSS_SELECTOR, "#timeline .delivery.action")
    webtest.poll(refused, "the broker to refuse the step", timeout=40, every=0.5)
    detail = police.el("#timeline .detail").text
    # The broker's refusal in words of its own for its code, the code beside them.
    check("ตัวกลางไม่อนุญาตให้ส่งขั้นตอนนี้ถึงผู้รับ" in detail and "(permission_denied)" in detail and
          "ไม่มีกฎข้ามพรมแดนที่อนุญาต" in detail and
          "สิ่งที่ต้องทำ" in detail and "refused by the broker" not in detail and
          "What to do" not in detail, "why it was not delivered, in Thai: " + detail)
    police.shot("case-refused-th")
    set_language(police, "en")


def erase(police, police_info, ref, canary):
    """A supervisor of the police erases the case: a reason, a confirmation, then the tombstone,
    on which both shelters' signed erasure receipts arrive; the supervisors' list of erased
    cases then holds it (reference, when, by whom), without anything of the person."""
    police.go(police_info["url"] + "/case/" + ref)
    police.link("Erase this case")
    police.type("f-reason", "the person's request under PDPA s.33")
    police.click("erase-next")
    confirm = police.by_id("erase-confirm").text
    parties = police.d.find_elements(By.CSS_SELECTOR, "#erase-confirm .tag")
    check("cannot be undone" in confirm and len(parties) == 2,
          "erasing asks for confirmation and names the two shelters: " + confirm)
    police.shot("erase-confirm")
    police.click("erase")
    check("erased" in police.el("h1 .state").text and "PDPA" in police.by_id("tombstone").text,
          "the case page is the tombstone now")

    def confirmed():
        police.d.refresh()
        rows = police.d.find_elements(By.CSS_SELECTOR, "#erasure-parties tbody tr")
        return len(rows) == 2 and all("erased, signed receipt" in r.text for r in rows)
    webtest.poll(confirmed, "both shelters to confirm the erasure", timeout=40, every=0.5)
    police.shot("case-erased")
    police.go(police_info["url"] + "/inbox")
    check("victim-2" not in police.text(), "an erased case leaves the inbox")

    # The supervisors' list of erased cases: what erasure leaves, never the person.
    police.click("nav-erased")
    rows = police.d.find_elements(By.CSS_SELECTOR, "#erased-cases tbody tr")
    mine = [r for r in rows if ref[:8] in r.text]
    check(len(mine) == 1 and "supervisor" in mine[0].text and "2 of 2 confirmed" in mine[0].text,
          "the erased case is listed: reference, when, by whom, confirmations: " +
          " | ".join(r.text for r in rows))
    body = police.text()
    check(canary not in body and "victim-2" not in body and "PDPA" not in body,
          "and nothing of the person, not even the label or the reason")
    check("365 days" in police.by_id("retention-rule").text, "with the retention rule in force")
    police.shot("erased-cases")
    police.follow(mine[0].find_element(By.TAG_NAME, "a"))
    check("PDPA" in police.by_id("tombstone").text, "each row opens its tombstone")


def outage(demo, police, police_info, canary):
    """The broker stops answering (SIGSTOP): the inbox says the agent is not connected since
    when, as `nrm-agent status` does; a referral taken meanwhile waits to send and is listed
    first among what was sent; once the broker answers again (SIGCONT) it is delivered."""
    broker = demo.info["broker_pid"]
    os.kill(broker, signal.SIGSTOP)
    try:
        police.go(police_info["url"] + "/inbox")
        police.wait_text("Not connected to the broker since", timeout=30)
        police.go(police_info["url"] + "/new/referral_offer")
        fill_referral(police, SHELTER_A, "victim-3", canary + "b", "1999-01-02")
        police.click("review")
        police.click("send")
        check("waiting to send" in police.el("#timeline").text,
              "a referral taken while the broker is away waits to send")
        police.go(police_info["url"] + "/inbox")
        first = police.el("#activity tbody tr")
        check("victim-3" in first.text and "waiting to send" in first.text,
              "the inbox lists it first, waiting to send: " + first.text)
        police.shot("inbox-not-connected")
        status = subprocess.run([os.path.join(webtest.BIN, "nrm-agent"), "--config",
                                 police_info["config"], "status"], capture_output=True, text=True)
        check("NOT CONNECTED since" in status.stdout and "waiting to send 1" in status.stdout,
              "nrm-agent status says the same: " + status.stdout.splitlines()[0])
        set_language(police, "th")
        body = police.text()
        check("ไม่ได้เชื่อมต่อกับตัวกลางตั้งแต่" in body and "รอส่ง" in body,
              "the same in Thai: not connected, waiting to send")
        police.shot("inbox-not-connected-th")
        set_language(police, "en")
    finally:
        os.kill(broker, signal.SIGCONT)
    police.wait_text("Connected to the broker since", timeout=30)

    def delivered():
        row = police.el("#activity tbody tr").text
        if "victim-3" in row and "delivered" in row:
            return True
        police.d.refresh()
        return False
    webtest.poll(delivered, "the referral delivered once the broker is back", timeout=40, every=0.5)
    police.shot("inbox-delivered-after-outage")


def scenario2():
    webtest.deadline(240)
    demo = webtest.Demo()
    th, kh = demo.agency(TH_NGO), demo.agency(KH_NGO)
    canary = "CanarySrey" + secrets.token_hex(4)
    thb, khb = Browser("th-ngo"), Browser("kh-ngo")
    thb.login(th, "th-ngo-password-1")
    thb.go(th["url"] + "/new/repatriation_request")
    thb.choose("f-to", KH_NGO)
    thb.type("f-label", "srey")
    thb.type("f-person.first_name", canary)
    thb.choose("f-person.nationality", "KH")
    thb.tick("f-person.languages", "km")
    thb.type("f-repatriation.origin_address", "Battambang, Ek Phnom district")
    thb.type("f-repatriation.reception_needs", "family mediation")
    for s in ("person", "needs", "repatriation"):
        thb.tick("f-consent.share_sections", s)
    thb.tick("f-consent.share_with_roles", "ngo")
    thb.tick("f-consent.share_with_roles", "immigration")
    thb.type("f-consent.purpose", "family tracing and return")
    thb.shot("repatriation-form")
    thb.click("review")
    check("Phnom Penh Family Care" in thb.text(), "the review names the Cambodian NGO")
    thb.click("send")
    ref = thb.d.current_url.split("/case/")[1].split("?")[0]
    thb.shot("case-requested")

    khb.login(kh, "kh-ngo-password-1")
    khb.wait_text("Repatriation request to answer")
    khb.shot("inbox-request")
    khb.follow(khb.el("#needs-action a.why"))
    check(canary in khb.text() and "Battambang" in khb.text(), "the request shows the person and the address")
    khb.link("Answer the repatriation request")
    khb.choose("f-family-found", "yes")
    khb.choose("f-reception-agency", KH_NGO)
    khb.type("f-note", "mother found in Ek Phnom; reception ready")
    khb.shot("response-form")
    khb.click("take-step")
    sections = khb.el(".recipient-sections").text
    check("Repatriation" in sections and
          "Answer the repatriation request" in khb.by_id("review-step").text,
          "the answer carries the repatriation section; the review says so: " + sections)
    khb.shot("response-review")
    khb.click("send")
    check("repatriation answered" in khb.el("h1 .state").text, "the Cambodian NGO answered")

    thb.go(th["url"] + "/case/" + ref)
    thb.wait_text("repatriation answered")
    thb.wait_text("The family was found")
    thb.shot("case-answered")

    # The same page in Thai: every text from the catalog, dates in the Buddhist era.
    set_language(thb, "th")
    body = thb.text()
    check("กล่องข้อความ" in body and "ลำดับเหตุการณ์" in body, "the case page in Thai")
    year = time.gmtime().tm_year + 543
    check(str(year) in body, "dates in the Buddhist era (%d)" % year)
    thb.shot("case-answered-th")
    thb.go(th["url"] + "/inbox")
    check("ความเคลื่อนไหวล่าสุด" in thb.text(), "the inbox in Thai")
    thb.shot("inbox-th")
    rest_of_scenario2(demo, ref, th_password="th-ngo-password-1")
    check(demo.stop() == 0, "every process stopped cleanly")
    privacy(demo, [canary])
    print("browser_test scenario2: OK")


def step(client, ref, action, fields, review=None):
    """Takes a step through its form (as a browser would post it); returns the case page. A step
    that carries case data is reviewed first: `review` is what the review page must say (the
    sections a recipient will receive), then it is sent from there."""
    path = "/case/%s/step/%s" % (ref, action)
    fields = dict(fields, csrf=client.csrf(path))
    r = client.post(path, fields)
    if review is not None:
        page = webtest.text_of(r.text)
        check(r.status == 200 and "Review before sending" in page and review in page,
              "%s: the review says '%s' (%d)" % (action, review, r.status))
        r = client.post(path, dict(fields, action="send"))
    if r.status != 303:
        raise AssertionError("%s: %d %s" % (action, r.status, webtest.text_of(r.text)[:500]))
    return client.get(r.getheader("Location")).text


def state_of(client, ref):
    page = client.get("/case/" + ref).text
    return page.split('<span class="state">')[1].split("<")[0] if '<span class="state">' in page else ""


def rest_of_scenario2(demo, ref, th_password):
    """The rest of scenario 2 through the forms: the Thai NGO brings Thai immigration in; the two
    immigration offices exchange travel documents; the return is scheduled and completed; the
    Cambodian NGO reports on reintegration."""
    TH_IMM, KH_IMM = "TH.IMMIGRATION.BKK", "KH.IMMIGRATION.POIPET"
    def login(id_, password=None):
        a = demo.agency(id_)
        c = webtest.Client(a["url"])
        c.login(a["user"], password or a["password"], None if password else "pw-" + id_)
        c.post("/language", {"csrf": c.csrf("/inbox", "/language"), "lang": "en", "next": "/inbox"})
        return c
    th, kh = login(TH_NGO, th_password), login(KH_NGO, "kh-ngo-password-1")
    thi, khi = login(TH_IMM), login(KH_IMM)
    step(th, ref, "share", {"to": TH_IMM, "sections": ["person"], "note": "please issue documents"},
         review="Person")
    webtest.poll(lambda: state_of(thi, ref) == "repatriation answered", "Thai immigration to join")
    check(True, "Thai immigration joined the case through a share")
    page = step(thi, ref, "travel_documents", {"to": KH_IMM, "documents": "TD-2026-0042",
                                               "include-person": "yes", "note": "issued"},
                review="Repatriation")
    check("travel documents exchanged" in page, "Thai immigration sent the travel documents")
    webtest.poll(lambda: state_of(khi, ref) == "travel documents exchanged", "Cambodian immigration")
    page = step(khi, ref, "schedule_return", {"to": [TH_IMM], "date": "2026-12-15",
                                              "border-point": "Aranyaprathet-Poipet"},
                review="Repatriation")
    check("return scheduled" in page, "Cambodian immigration scheduled the return")
    webtest.poll(lambda: state_of(thi, ref) == "return scheduled", "Thai immigration to see it")
    page = step(thi, ref, "complete_return", {"to": [KH_IMM, TH_NGO], "note": "crossed at 10:00"})
    check("returned" in page, "Thai immigration confirmed the return")
    webtest.poll(lambda: state_of(th, ref) == "returned", "the Thai NGO to see the return")
    step(th, ref, "share", {"to": KH_NGO, "note": "returned today"}, review="It will receive")
    webtest.poll(lambda: state_of(kh, ref) == "returned", "the Cambodian NGO to see the return")
    page = step(kh, ref, "followup", {"to": TH_NGO, "note": "back at school"})
    check("in reintegration follow-up" in page, "the Cambodian NGO reported on reintegration")
    webtest.poll(lambda: "back at school" in th.get("/case/" + ref).text, "the follow-up in Thailand")
    page = th.get("/case/" + ref).text
    check("Reintegration follow-up" in page and "Return completed" in page, "the Thai NGO's timeline")
    check("Erase this case" in page, "a supervisor is offered erasure")

    # A caseworker is not: the page and the form are refused, and nothing changes.
    a = demo.agency(TH_NGO)
    out = subprocess.run([os.path.join(webtest.BIN, "nrm-agent"), "--config", a["config"], "user",
                          "add", "somchai", "--role", "caseworker", "--one-time-password"],
                         capture_output=True, text=True, check=True).stdout
    password = out.split("one-time password for somchai: ")[1].split()[0]
    cw = webtest.Client(a["url"])
    cw.login("somchai", password, "pw-somchai-1")
    check("Erase this case" not in cw.get("/case/" + ref).text, "a caseworker is not offered erasure")
    r = cw.get("/erased")
    check(r.status == 403 and "/erased" not in cw.get("/inbox").text,
          "nor the list of erased cases (%d)" % r.status)
    r = cw.get("/case/%s/erase" % ref)
    check(r.status == 403, "a caseworker's erasure page is refused (%d)" % r.status)
    token = cw.csrf("/case/" + ref, "/case/%s/relabel" % ref)
    r = cw.post("/case/%s/erase" % ref, {"csrf": token, "action": "erase", "reason": "x"})
    check(r.status == 403 and "Reintegration" in th.get("/case/" + ref).text,
          "and so is its POST; the case is whole (%d)" % r.status)
    # Relabel from the case page.
    r = cw.post("/case/%s/relabel" % ref, {"csrf": token, "label": "srey-kh-return"})
    check(r.status == 303 and "srey-kh-return" in cw.get("/case/" + ref).text, "relabelled")


if __name__ == "__main__":
    {"scenario1": scenario1, "scenario2": scenario2}[sys.argv[1]]()
