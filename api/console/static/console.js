// krslab console: the create form's "add a row" and "remove" buttons, and figures that
// cannot be drawn. Everything works
// without this script (the form starts with rows enough for a first experiment); it only
// saves a round trip.
"use strict";
// A figure drawn on request (segments, drivers) that cannot be drawn yet (too few answers,
// an attribute nobody has) says so in words instead of showing a broken image.
function fallBack(img) {
  var p = document.createElement("p");
  p.className = "muted";
  p.textContent = img.getAttribute("data-fallback");
  img.replaceWith(p);
}
document.addEventListener("DOMContentLoaded", function () {
  document.querySelectorAll("img[data-fallback]").forEach(function (img) {
    if (img.complete && img.naturalWidth === 0) { fallBack(img); return; }
    img.addEventListener("error", function () { fallBack(img); });
  });
  document.querySelectorAll("[data-add-row]").forEach(function (button) {
    button.hidden = false;
    button.addEventListener("click", function () {
      var rows = document.getElementById(button.getAttribute("data-add-row"));
      var last = rows.querySelector(".row:last-of-type");
      if (!last) { return; }
      var row = last.cloneNode(true);
      var n = rows.querySelectorAll(".row").length;
      row.querySelectorAll("input, select, textarea, label, p").forEach(function (el) {
        ["id", "for", "aria-describedby"].forEach(function (a) {
          var v = el.getAttribute(a);
          if (v) { el.setAttribute(a, v.replace(/-\d+(\b|-)/g, "-" + n + "$1")); }
        });
        if (el.classList.contains("field-error")) { el.remove(); return; }
        el.removeAttribute("aria-invalid");
        if (el.type === "radio") { el.value = String(n); el.checked = false; }
        else if (el.tagName === "INPUT" && el.type !== "hidden") { el.value = el.getAttribute("data-default") || ""; }
      });
      row.querySelectorAll(".invalid").forEach(function (el) { el.classList.remove("invalid"); });
      rows.appendChild(row);
      var first = row.querySelector("input");
      if (first) { first.focus(); }
    });
  });
  document.addEventListener("click", function (ev) {
    var b = ev.target.closest("[data-remove-row]");
    if (!b) { return; }
    var rows = b.closest(".rows");
    if (rows.querySelectorAll(".row").length > 1) { b.closest(".row").remove(); }
  });
});
