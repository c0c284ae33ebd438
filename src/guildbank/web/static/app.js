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

  function onEvent(event) {
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
    source.addEventListener("ready", function () { show("open", "live"); });
    source.onmessage = function (message) {
      try { onEvent(JSON.parse(message.data)); } catch (error) { console.error("bad event", error); }
    };
    source.onerror = function () { show("error", "reconnecting…"); };
  }

  if (guild && body.hasAttribute("data-live") && window.EventSource) connect();

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
