// PoolGate console: the little behaviour the pages need beyond htmx. No inline scripts (CSP).
(function () {
  "use strict";
  // Forms marked data-confirm ask before they post (deletions, bulk actions).
  document.addEventListener("submit", function (event) {
    var form = event.target;
    var question = form.getAttribute && form.getAttribute("data-confirm");
    if (question && !window.confirm(question)) {
      event.preventDefault();
      event.stopImmediatePropagation();
    }
  }, true);
  document.addEventListener("click", function (event) {
    var target = event.target.closest ? event.target.closest("[data-open-dialog],[data-close-dialog],[data-copy]") : null;
    if (!target) return;
    if (target.hasAttribute("data-open-dialog")) {
      document.getElementById(target.getAttribute("data-open-dialog")).showModal();
    } else if (target.hasAttribute("data-close-dialog")) {
      target.closest("dialog").close();
    } else if (target.hasAttribute("data-copy")) {
      var text = document.getElementById(target.getAttribute("data-copy")).textContent.trim();
      navigator.clipboard.writeText(text).then(function () {
        target.setAttribute("data-copied", "true");
        var done = target.getAttribute("data-copied-label");
        if (done) target.textContent = done;
      });
    }
  });
  // "Select all" checkbox of a bulk-action table.
  document.addEventListener("change", function (event) {
    var box = event.target;
    if (box.hasAttribute && box.hasAttribute("data-select-all")) {
      var form = box.getAttribute("data-select-all");
      document.querySelectorAll('input[type=checkbox][name=ids][form="' + form + '"]').forEach(function (b) {
        b.checked = box.checked;
      });
    }
  });
  // A dialog rendered open (a form in it came back with errors) opens as a modal, at its first error.
  document.addEventListener("DOMContentLoaded", function () {
    document.querySelectorAll("dialog[data-open]").forEach(function (d) {
      d.showModal();
      var invalid = d.querySelector('[aria-invalid="true"]');
      if (invalid) invalid.focus();
    });
  });
})();
