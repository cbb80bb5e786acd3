// The nurse's worklist without reloading: every few seconds, the open items from
// /nurse/worklist.json (the rows rendered by the page's own macro) replace the table's rows.
// Not while the nurse is typing an outcome in it. Without this script the page still works.
(function () {
  "use strict";
  var table = document.querySelector("table[data-poll]");
  if (!table || !window.fetch) { return; }
  var url = table.getAttribute("data-poll");
  var seconds = Number(table.getAttribute("data-poll-seconds")) || 5;
  var rows = document.getElementById("worklist-rows");
  var empty = document.getElementById("worklist-empty");

  function busy() {
    var active = document.activeElement;
    return active && rows.contains(active) && (active.tagName === "INPUT" || active.tagName === "SELECT");
  }

  function refresh() {
    fetch(url, { credentials: "same-origin", headers: { "Accept": "application/json" } })
      .then(function (response) { return response.ok ? response.json() : null; })
      .then(function (data) {
        if (!data || busy()) { return; }
        // The JSON gives each row's photo count, not its thumbnails: keep the thumbnails already
        // shown (no new fetch, no new view) while the count is the same.
        var kept = {};
        rows.querySelectorAll("tr[data-item]").forEach(function (row) {
          var cell = row.querySelector("td.worklist-photos");
          if (cell && cell.querySelector("img")) { kept[row.getAttribute("data-item")] = cell; }
        });
        rows.innerHTML = data.rows_html;
        rows.querySelectorAll("tr[data-item]").forEach(function (row) {
          var old = kept[row.getAttribute("data-item")];
          var cell = row.querySelector("td.worklist-photos");
          if (old && cell && old.getAttribute("data-photo-count") === cell.getAttribute("data-photo-count")) {
            row.replaceChild(old, cell);
          }
        });
        document.querySelectorAll("[data-worklist-count]").forEach(function (el) {
          el.textContent = String(data.count);
        });
        if (empty) { empty.hidden = data.items.length > 0; }
      })
      .catch(function () { /* the next poll tries again */ });
  }

  window.setInterval(refresh, seconds * 1000);
}());
