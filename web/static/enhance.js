/* Progressive enhancement only: the pages work fully without this file.
   - Fills the time-zone select with the browser's zone, unless the person already chose one
     (adding it to the form's short list of likely zones when it is not there).
   - Adds a "Copy note" button to the nurse console. */
(function () {
  "use strict";

  function browserZone() {
    try {
      return Intl.DateTimeFormat().resolvedOptions().timeZone || "";
    } catch (e) {
      return "";
    }
  }

  function fillZones() {
    var zone = browserZone();
    if (!zone) return;
    var selects = document.querySelectorAll("select[data-autozone]");
    Array.prototype.forEach.call(selects, function (select) {
      var match = Array.prototype.some.call(select.options, function (o) { return o.value === zone; });
      if (!match && zone.indexOf("Etc/") !== 0 && /^[A-Za-z]+\/[A-Za-z0-9_+\-\/]+$/.test(zone)) {
        // The form lists the likely zones only: add the browser's, named by its city.
        var option = document.createElement("option");
        option.value = zone;
        option.textContent = zone.split("/").pop().replace(/_/g, " ");
        select.insertBefore(option, select.firstChild);
        match = true;
      }
      if (match) select.value = zone;
    });
  }

  function copyButtons() {
    var buttons = document.querySelectorAll("button[data-copy]");
    Array.prototype.forEach.call(buttons, function (button) {
      var source = document.getElementById(button.getAttribute("data-copy"));
      var status = document.getElementById("copy-status");
      if (!source) return;
      button.hidden = false;
      button.addEventListener("click", function () {
        function done(message) { if (status) status.textContent = message; }
        if (navigator.clipboard && navigator.clipboard.writeText) {
          navigator.clipboard.writeText(source.value).then(
            function () { done("Note copied."); },
            function () { source.select(); done("Press Ctrl+C to copy the selected note."); }
          );
        } else {
          source.select();
          done("Press Ctrl+C to copy the selected note.");
        }
      });
    });
  }

  // The patient's private link: copy it, or hand it to the phone's share sheet. The words come
  // from the page (data-copied, data-share-title), so they are in the patient's language.
  function linkButtons() {
    Array.prototype.forEach.call(document.querySelectorAll("button[data-copy-link]"), function (button) {
      var source = document.getElementById(button.getAttribute("data-copy-link"));
      var status = document.querySelector(".copy-done");
      if (!source || !navigator.clipboard) return;
      button.hidden = false;
      button.addEventListener("click", function () {
        navigator.clipboard.writeText(source.value).then(function () {
          if (status) status.textContent = status.getAttribute("data-copied");
        }, function () { source.select(); });
      });
    });
    Array.prototype.forEach.call(document.querySelectorAll("button[data-share]"), function (button) {
      var source = document.getElementById(button.getAttribute("data-share"));
      if (!source || !navigator.share) return;
      button.hidden = false;
      button.addEventListener("click", function () {
        navigator.share({ title: button.getAttribute("data-share-title"), url: source.value }).catch(function () {});
      });
    });
  }

  function focusErrors() {
    var summary = document.getElementById("error-summary");
    if (summary) summary.focus();
  }

  document.addEventListener("DOMContentLoaded", function () {
    fillZones();
    copyButtons();
    linkButtons();
    focusErrors();
  });
})();
