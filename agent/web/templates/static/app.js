// The little the inbox does with JavaScript (it works without): fields checked as people type,
// the inbox refreshed when something new arrives, the handover record printed on request.
// No inline script anywhere: the Content-Security-Policy forbids it.
"use strict";
(function () {
  function isDate(s) {
    var m = /^(\d{4})-(\d{2})-(\d{2})$/.exec(s);
    if (!m) return false;
    var d = new Date(Date.UTC(+m[1], +m[2] - 1, +m[3]));
    return d.getUTCFullYear() === +m[1] && d.getUTCMonth() === +m[2] - 1 && d.getUTCDate() === +m[3];
  }
  function check(input) {
    var v = input.value.trim();
    var msg = "";
    if (input.required && !v && input.type !== "checkbox") msg = "required";
    else if (v && input.dataset.check === "year-or-date" && !(/^\d{4}$/.test(v) || isDate(v))) msg = "YYYY / YYYY-MM-DD";
    else if (v && input.type === "date" && !isDate(v)) msg = "YYYY-MM-DD";
    input.setCustomValidity(msg ? " " : "");
    var field = input.closest(".field");
    if (field) field.classList.toggle("invalid", !!msg);
  }
  document.querySelectorAll("form[data-check] input, form[data-check] select, form[data-check] textarea")
    .forEach(function (el) {
      el.addEventListener("input", function () { check(el); });
      el.addEventListener("change", function () { check(el); });
    });

  // Every page of a session asks now and then whether the inbox changed (without keeping the
  // session alive): the inbox reloads when it did, and any page leaves for the login page as
  // soon as the session has ended, so that no case stays on an unattended screen.
  var main = document.getElementById("main");
  var inbox = document.querySelector(".inbox[data-version]");
  if (main && main.dataset.live) {
    var seen = inbox ? inbox.dataset.version : null;
    setInterval(function () {
      fetch("/updates", { credentials: "same-origin", cache: "no-store" })
        .then(function (r) {
          if (r.status === 401) { location.href = "/login"; return null; }
          return r.ok ? r.json() : null;
        })
        .then(function (j) {
          if (!j || !inbox || j.version === seen) return;
          var active = document.activeElement;
          if (active && (active.tagName === "INPUT" || active.tagName === "TEXTAREA")) return;
          location.reload();
        })
        .catch(function () {});
    }, 4000);
  }
  var printing = document.querySelector(".case[data-print='1']");
  if (printing) window.addEventListener("load", function () { window.print(); });
})();
