// guildbank task pages: the task table and the review queue follow the live stream
// (app.js relays its events as "guildbank:event"). On a task event the page re-reads itself
// (same origin, the session's cookie) and swaps in what changed: the task rows and the
// statistics; new proofs in the queue, reviewed ones out. Forms being filled in stay as they are.
(function () {
  "use strict";
  var pending = null;

  function refresh(apply) {
    if (pending) clearTimeout(pending);
    // Events come in bursts (an expiry pass, a review and its reward): one read per burst.
    pending = setTimeout(function () {
      pending = null;
      fetch(window.location.pathname, { credentials: "same-origin", headers: { "Accept": "text/html" } })
        .then(function (response) {
          if (!response.ok) throw new Error("HTTP " + response.status);
          return response.text();
        })
        .then(function (html) { apply(new DOMParser().parseFromString(html, "text/html")); })
        .catch(function () {
          var notice = document.querySelector("[data-live-notice]");
          if (notice) notice.hidden = false;
        });
    }, 250);
  }

  function swap(fresh, selector) {
    var now = document.querySelector(selector);
    var next = fresh.querySelector(selector);
    if (now && next) now.innerHTML = next.innerHTML;
  }

  function taskList(fresh) {
    var before = {};
    document.querySelectorAll("[data-task-rows] tr[data-task]").forEach(function (row) {
      before[row.getAttribute("data-task")] = row.textContent;
    });
    swap(fresh, "[data-task-rows]");
    swap(fresh, "[data-task-stats]");
    swap(fresh, "[data-review-count]");
    document.querySelectorAll("[data-task-rows] tr[data-task]").forEach(function (row) {
      if (before[row.getAttribute("data-task")] !== row.textContent) row.classList.add("fresh");
    });
  }

  function reviewQueue(fresh) {
    var queue = document.querySelector("[data-review-queue]");
    var next = fresh.querySelector("[data-review-queue]");
    if (!queue || !next) return;
    var wanted = {};
    next.querySelectorAll("[data-proof]").forEach(function (card) {
      wanted[card.getAttribute("data-proof")] = card;
    });
    // Gone (reviewed elsewhere, expired, deleted): out. New: in, in the server's order.
    queue.querySelectorAll("[data-proof]").forEach(function (card) {
      if (!wanted[card.getAttribute("data-proof")]) card.remove();
    });
    var previous = null;
    next.querySelectorAll("[data-proof]").forEach(function (card) {
      var key = card.getAttribute("data-proof");
      var mine = queue.querySelector('[data-proof="' + key + '"]');
      if (!mine) {
        mine = document.importNode(card, true);
        mine.classList.add("fresh");
        // The CSRF token is this page's, not the fetched copy's (they are the same session's).
        var token = document.querySelector('input[name="csrf_token"]');
        var theirs = mine.querySelector('input[name="csrf_token"]');
        if (token && theirs) theirs.value = token.value;
        queue.insertBefore(mine, previous ? previous.nextSibling : queue.firstChild);
      }
      previous = mine;
    });
    var empty = queue.querySelector("[data-queue-empty]");
    if (empty) empty.hidden = queue.querySelector("[data-proof]") !== null;
  }

  document.addEventListener("guildbank:event", function (message) {
    var event = message.detail;
    if (!event || typeof event.name !== "string" || event.name.indexOf("task.") !== 0) return;
    if (document.querySelector("[data-task-rows]")) refresh(taskList);
    else if (document.querySelector("[data-review-queue]")) refresh(reviewQueue);
  });
  // After a reconnection (not the first connection), catch up with what happened meanwhile.
  var connected = false;
  document.addEventListener("guildbank:ready", function () {
    if (!connected) { connected = true; return; }
    if (document.querySelector("[data-task-rows]")) refresh(taskList);
    else if (document.querySelector("[data-review-queue]")) refresh(reviewQueue);
  });
})();
