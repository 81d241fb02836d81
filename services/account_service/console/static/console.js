// PoolGate console: the little behaviour the pages need beyond htmx. No inline scripts (CSP).
(function () {
  "use strict";
  // Forms (or the button that submits one) marked data-confirm ask before they post (deletions, bulk actions).
  document.addEventListener("submit", function (event) {
    var form = event.target;
    var button = event.submitter;
    var question = (button && button.getAttribute("data-confirm")) || (form.getAttribute && form.getAttribute("data-confirm"));
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
  // A page that answers a form but must not be posted again on reload (a key shown once) names the
  // address to show instead: reloading then loads that page.
  document.addEventListener("DOMContentLoaded", function () {
    document.querySelectorAll("dialog[data-open]").forEach(function (d) {
      d.showModal();
      var invalid = d.querySelector('[aria-invalid="true"]');
      if (invalid) invalid.focus();
    });
    var replace = document.querySelector("[data-replace-url]");
    if (replace) history.replaceState(null, "", replace.getAttribute("data-replace-url"));
  });
  // The event page: a table fed by a Server-Sent Events stream (data-events-source), newest row first,
  // at most data-keep rows. Cells are set as text: nothing from an event is ever parsed as HTML.
  document.addEventListener("DOMContentLoaded", function () {
    var table = document.querySelector("table[data-events-source]");
    if (!table) return;
    var body = table.tBodies[0];
    var keep = parseInt(table.getAttribute("data-keep"), 10) || 200;
    var state = document.getElementById(table.getAttribute("data-events-state"));
    var source = new EventSource(table.getAttribute("data-events-source"));
    function say(which) { state.textContent = state.getAttribute(which); }
    source.onopen = function () { say("data-live"); };
    source.onerror = function () { say(source.readyState === EventSource.CLOSED ? "data-closed" : "data-reconnecting"); };
    source.onmessage = function (message) {
      var event = JSON.parse(message.data);
      var when = new Date(event.occurred_at);
      var cells = [event.type, when.toLocaleString(document.documentElement.lang), event.producer,
        event.correlation_id || "—", JSON.stringify(event.data)];
      var row = document.createElement("tr");
      cells.forEach(function (text, i) {
        var cell = document.createElement(i === 0 ? "th" : "td");
        if (i === 0) cell.setAttribute("scope", "row");
        if (i === 1) cell.title = event.occurred_at;
        var holder = i === 4 ? cell.appendChild(document.createElement("code")) : cell;
        holder.textContent = text;
        row.appendChild(cell);
      });
      body.insertBefore(row, body.firstChild);
      while (body.rows.length > keep) body.deleteRow(-1);
    };
    window.addEventListener("pagehide", function () { source.close(); });
  });
})();
