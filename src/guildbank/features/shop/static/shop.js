// guildbank shop pages: stock and sales follow the live stream (app.js relays its events).
(function () {
  "use strict";
  function text(selector, value) {
    document.querySelectorAll(selector).forEach(function (node) { node.textContent = value; });
  }
  function stock(value) {
    if (value < 0) return "unlimited";
    return value === 0 ? "sold out" : value.toLocaleString("en-US");
  }
  document.addEventListener("guildbank:event", function (message) {
    var event = message.detail;
    if (event.name !== "shop.stock_changed") return;
    var id = String(event.data.item_id);
    text('[data-item-stock="' + id + '"]', stock(event.data.stock));
    text('[data-item-sales="' + id + '"]', event.data.sales_count.toLocaleString("en-US"));
  });
  // Other edits (price, name, a new item) change more than two cells: offer a reload.
  document.addEventListener("guildbank:event", function (message) {
    var event = message.detail;
    if (event.name !== "shop.item_changed" || event.data.change === "stock") return;
    var notice = document.querySelector("[data-shop-notice]");
    if (notice) notice.hidden = false;
  });
})();
