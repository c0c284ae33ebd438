// guildbank dashboard, Sync page: reload the job tables when this server's outbox changes.
// The events come from app.js's live stream (a "guildbank:event" on the document).
(function () {
  "use strict";

  var box = document.querySelector("[data-sync-live]");
  if (!box) return;
  var timer = null;
  var latest = 0;

  function refresh() {
    timer = null;
    // Only the newest request's answer is shown: an older one arriving late is stale.
    var mine = ++latest;
    fetch(window.location.href, { credentials: "same-origin", headers: { Accept: "text/html" } })
      .then(function (response) { return response.ok ? response.text() : null; })
      .then(function (html) {
        if (!html || mine !== latest) return;
        var page = new DOMParser().parseFromString(html, "text/html");
        var fresh = page.querySelector("[data-sync-live]");
        if (fresh) box.innerHTML = fresh.innerHTML;
      })
      .catch(function (error) { console.error("sync refresh failed", error); });
  }

  // Jobs may have moved between the page's rendering and the stream's start.
  document.addEventListener("guildbank:ready", function () { if (!timer) timer = setTimeout(refresh, 0); });
  document.addEventListener("guildbank:event", function (event) {
    var name = event.detail && event.detail.name;
    if ((name === "outbox.job" || name === "outbox.ready") && !timer) timer = setTimeout(refresh, 250);
  });
})();
