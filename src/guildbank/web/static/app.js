// guildbank dashboard: live updates over Server-Sent Events and small form helpers.
// Loaded as a file (the CSP allows no inline script); works without it, just not live.
(function () {
  "use strict";

  var body = document.body;
  var guild = body.getAttribute("data-guild");
  var base = "/admin/guilds/" + guild;

  function el(tag, attrs, children) {
    var node = document.createElement(tag);
    Object.keys(attrs || {}).forEach(function (key) { node.setAttribute(key, attrs[key]); });
    (children || []).forEach(function (child) {
      node.appendChild(typeof child === "string" ? document.createTextNode(child) : child);
    });
    return node;
  }

  // Names already on the page (rendered by the server from Discord), so live rows show them too.
  function nameOf(userId) {
    if (userId === "mint" || userId === "sink") return el("span", { "class": "system" }, [userId]);
    var known = document.querySelector('[data-user-id="' + userId + '"][data-user-name]');
    var label = known ? known.getAttribute("data-user-name") : userId;
    var link = el("a", { "class": "user", href: base + "/members/" + userId, "data-user-id": userId },
      [known ? label : el("code", {}, [label])]);
    return link;
  }

  function number(value) { return Number(value).toLocaleString("en-US").replace(/,/g, "\u202f"); }

  function flow(from, to) {
    return el("td", { "class": "flow" }, [nameOf(from), el("span", { "class": "arrow" }, ["→"]), nameOf(to)]);
  }

  // What a transaction event looks like as a row of the log: [id, type, amount, from, to, reason].
  function describe(event) {
    var d = event.data || {};
    switch (event.name) {
      case "transfer":
        return [d.transaction_id, "transfer", d.amount, d.giver_id, d.receiver_id, d.reason || ""];
      case "balance.adjusted":
        return d.delta >= 0
          ? [d.transaction_id, "admin_adjust", d.delta, "mint", d.user_id, d.reason || ""]
          : [d.transaction_id, "admin_adjust", -d.delta, d.user_id, "mint", d.reason || ""];
      case "daily.claimed":
        return d.amount > 0 ? [null, "daily", d.amount, "mint", d.user_id, "Daily reward (streak " + d.streak + ")"] : null;
      case "transaction.reversed":
        return [d.reversal_id, "reversal", null, null, null, "Reverses #" + d.transaction_id];
      default:
        return null;
    }
  }

  function when(event) {
    var at = new Date(event.at);
    return isNaN(at) ? "" : at.toISOString().slice(0, 16).replace("T", " ");
  }

  function addRow(tbody, event, row) {
    var empty = tbody.querySelector("tr.empty");
    if (empty) empty.remove();
    var id = row[0];
    var tr = el("tr", { "class": "fresh", "data-transaction-id": id === null ? "" : String(id) }, [
      el("td", {}, [id === null ? "–" : el("a", { href: base + "/transactions/" + id }, ["#" + id])]),
      el("td", { "class": "nowrap" }, [when(event)]),
      el("td", {}, [el("span", { "class": "badge " + row[1] }, [row[1]])]),
      el("td", { "class": "num" }, [row[2] === null ? "" : number(row[2])]),
      row[3] === null ? el("td", {}, []) : flow(row[3], row[4]),
      el("td", { "class": "reason" }, [row[5]])
    ]);
    tbody.insertBefore(tr, tbody.firstChild);
  }

  function feedText(event) {
    var d = event.data || {};
    switch (event.name) {
      case "transfer": return [nameOf(d.giver_id), " sent " + number(d.amount) + " to ", nameOf(d.receiver_id)];
      case "daily.claimed": return [nameOf(d.user_id), " claimed the daily reward (+" + number(d.amount) + ", streak " + d.streak + ")"];
      case "balance.adjusted": return ["Balance of ", nameOf(d.user_id), " adjusted by " + (d.delta > 0 ? "+" : "") + number(d.delta)];
      case "transaction.reversed": return ["Transaction #" + d.transaction_id + " reversed"];
      case "config.changed": return ["Settings changed: " + (d.changed || []).join(", ")];
      case "account.opened": return [nameOf(d.user_id), " opened an account"];
      default: return [event.name];
    }
  }

  function bump(name, by) {
    var node = document.querySelector('[data-stat="' + name + '"]');
    if (!node) return;
    var current = parseInt(node.textContent.replace(/\D/g, ""), 10) || 0;
    node.textContent = number(current + by);
  }

  // Every number on the page that shows a member's balance, and the top list's order.
  function setBalance(userId, value) {
    if (userId === undefined || value === undefined || value === null) return;
    document.querySelectorAll('[data-balance-of="' + userId + '"]').forEach(function (node) {
      if (node.textContent !== number(value)) {
        node.textContent = number(value);
        node.classList.remove("fresh");
        void node.offsetWidth;  // restart the highlight
        node.classList.add("fresh");
      }
    });
    var leaders = document.querySelector("ol.leaders");
    if (leaders && leaders.querySelector('[data-leader="' + userId + '"]')) {
      var items = Array.prototype.slice.call(leaders.querySelectorAll("li[data-leader]"));
      function of(li) { return parseInt(li.querySelector(".num").textContent.replace(/\D/g, ""), 10) || 0; }
      items.sort(function (a, b) { return of(b) - of(a); });
      items.forEach(function (li, index) {
        leaders.appendChild(li);
        var rank = li.querySelector(".rank");
        if (rank) rank.textContent = String(index + 1);
      });
    }
  }

  function bumpSquad(squadId, by) {
    if (squadId === undefined || squadId === null) return;
    document.querySelectorAll('[data-squad-count="' + squadId + '"]').forEach(function (node) {
      var current = parseInt(node.textContent.replace(/\D/g, ""), 10) || 0;
      node.textContent = number(Math.max(0, current + by));
    });
  }

  // Balances and counts the event tells, wherever the page shows them.
  function updateNumbers(event) {
    var d = event.data || {};
    switch (event.name) {
      case "transfer":
        setBalance(d.giver_id, d.giver_balance);
        setBalance(d.receiver_id, d.receiver_balance);
        break;
      case "daily.claimed":
      case "balance.adjusted":
        setBalance(d.user_id, d.balance);
        break;
      case "squad.joined":
        setBalance(d.user_id, d.balance);
        bumpSquad(d.squad_id, 1);
        bumpSquad(d.previous_squad_id, -1);
        break;
      case "squad.left":
        bumpSquad(d.squad_id, -1);
        break;
    }
  }

  function onEvent(event) {
    updateNumbers(event);
    var feed = document.querySelector("[data-live-feed]");
    if (feed) {
      var empty = feed.querySelector(".empty");
      if (empty) empty.remove();
      feed.insertBefore(el("li", { "class": "fresh" }, [el("time", {}, [when(event).slice(11)])].concat(feedText(event))), feed.firstChild);
    }
    var row = describe(event);
    if (!row) return;
    if (row[0] !== null) { bump("transactions", 1); bump("today", 1); }
    var tbody = document.querySelector("tbody[data-live-rows]");
    if (tbody) addRow(tbody, event, row);
    var notice = document.querySelector("[data-live-notice]");
    if (notice) notice.hidden = false;
  }

  function connect() {
    var status = document.getElementById("live-status");
    var source = new EventSource("/api/stream?guilds=" + encodeURIComponent(guild));
    function show(state, text) { if (status) { status.setAttribute("data-state", state); status.textContent = text; } }
    source.addEventListener("ready", function () {
      show("open", "live");
      // Page scripts may re-read what changed between the page's rendering and now.
      document.dispatchEvent(new CustomEvent("guildbank:ready"));
    });
    // The browser resumes with Last-Event-ID; a "gap" means events older than the server
    // keeps were missed: the page asks to be reloaded rather than show stale numbers.
    source.addEventListener("gap", function () {
      var notice = document.querySelector("[data-live-notice]");
      if (notice) notice.hidden = false;
      show("error", "missed updates: reload");
    });
    source.onmessage = function (message) {
      try {
        var event = JSON.parse(message.data);
        // Page scripts (sync.js) listen for every event; the feed and tables skip the outbox's.
        document.dispatchEvent(new CustomEvent("guildbank:event", { detail: event }));
        if (event.name.indexOf("outbox.") !== 0) onEvent(event);
      } catch (error) { console.error("bad event", error); }
    };
    source.onerror = function () { show("error", "reconnecting…"); };
  }

  if (guild && body.hasAttribute("data-live") && window.EventSource) connect();

  // Phone widths: a tab bar or table wider than the screen says so (a fade, a hint line).
  function markOverflow() {
    document.querySelectorAll(".tabs").forEach(function (tabs) {
      var more = tabs.scrollWidth - tabs.clientWidth - tabs.scrollLeft > 4;
      tabs.classList.toggle("more-right", more);
      tabs.classList.toggle("more-left", tabs.scrollLeft > 4);
    });
    document.querySelectorAll(".scroll").forEach(function (box) {
      var over = box.scrollWidth > box.clientWidth + 1;
      box.classList.toggle("overflowing", over);
      var hint = box.previousElementSibling;
      if (!(hint && hint.classList.contains("scroll-hint"))) {
        if (!over) return;
        hint = el("p", { "class": "scroll-hint", "aria-hidden": "true" }, ["Scroll sideways for more →"]);
        box.parentNode.insertBefore(hint, box);
      }
      hint.classList.toggle("shown", over);
    });
  }
  markOverflow();
  window.addEventListener("resize", markOverflow);
  document.querySelectorAll(".tabs").forEach(function (tabs) {
    tabs.addEventListener("scroll", markOverflow, { passive: true });
    var current = tabs.querySelector('[aria-current="page"]');
    if (current && current.scrollIntoView && tabs.scrollWidth > tabs.clientWidth) {
      tabs.scrollLeft = Math.max(0, current.offsetLeft - tabs.clientWidth / 3);
    }
  });

  // "Add a row" buttons of the settings tables: copy the last row, emptied.
  document.querySelectorAll("[data-add-row]").forEach(function (button) {
    button.addEventListener("click", function () {
      var tbody = document.getElementById(button.getAttribute("data-add-row"));
      var last = tbody && tbody.lastElementChild;
      if (!last) return;
      var copy = last.cloneNode(true);
      copy.querySelectorAll("input").forEach(function (input) { input.value = ""; });
      copy.querySelectorAll("select").forEach(function (select) { select.selectedIndex = 0; });
      tbody.appendChild(copy);
      var first = copy.querySelector("input, select");
      if (first) first.focus();
    });
  });
})();
