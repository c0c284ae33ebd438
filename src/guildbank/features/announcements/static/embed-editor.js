// The embed editor: a live preview drawn like Discord's, character counters against
// Discord's limits, a colour picker, and field rows that can be added, moved and removed.
// Served from our own origin (the CSP allows no inline script); it loads nothing else.
"use strict";

(function () {
  const form = document.getElementById("embed-form");
  const preview = document.getElementById("embed-preview");
  if (!form || !preview) return;
  const list = document.getElementById("embed-fields");
  const template = document.getElementById("embed-field-template");
  // Images load only from Discord's CDN (the dashboard's CSP): others show as placeholders.
  const LOADABLE = /^https:\/\/cdn\.discordapp\.com\//;

  const value = (name) => {
    const input = form.elements.namedItem(name);
    return input && "value" in input ? input.value : "";
  };

  function rows() {
    return Array.from(list.querySelectorAll("[data-field-row]")).map((row) => ({
      name: row.querySelector("[name=field_name]").value,
      value: row.querySelector("[name=field_value]").value,
      inline: row.querySelector("[name=field_inline]").value === "yes",
    }));
  }

  function escapeHtml(text) {
    return text.replace(/[&<>"']/g, (c) => ({ "&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;", "'": "&#39;" })[c]);
  }

  // A little of Discord's markdown: **bold**, *italic*, __underline__, ~~strike~~, `code`,
  // [text](https://link) and line breaks. The text is escaped first.
  function markdown(text) {
    return escapeHtml(text)
      .replace(/`([^`]+)`/g, "<code>$1</code>")
      .replace(/\*\*([^*]+)\*\*/g, "<strong>$1</strong>")
      .replace(/__([^_]+)__/g, "<u>$1</u>")
      .replace(/\*([^*]+)\*/g, "<em>$1</em>")
      .replace(/~~([^~]+)~~/g, "<s>$1</s>")
      .replace(/\[([^\]]+)\]\((https?:\/\/[^\s)]+)\)/g, '<a href="$2" rel="noopener noreferrer" target="_blank">$1</a>')
      .replace(/\n/g, "<br>");
  }

  function el(tag, cls, html) {
    const node = document.createElement(tag);
    if (cls) node.className = cls;
    if (html !== undefined) node.innerHTML = html;
    return node;
  }

  function image(url, cls) {
    if (LOADABLE.test(url)) {
      const img = el("img", cls);
      img.src = url;
      img.alt = "";
      return img;
    }
    const box = el("div", cls + " dc-placeholder");
    box.textContent = url.replace(/^https?:\/\//, "");
    box.title = url;
    return box;
  }

  function draw() {
    const main = el("div", "dc-embed-main");
    preview.replaceChildren();
    const color = /^#?[0-9a-fA-F]{6}$/.test(value("color")) ? "#" + value("color").replace("#", "") : "#1e1f22";
    preview.style.borderLeftColor = color;
    if (value("author_name")) {
      const author = el("div", "dc-author");
      if (value("author_icon_url")) author.append(image(value("author_icon_url"), "dc-author-icon"));
      const name = el(value("author_url") ? "a" : "span", "", escapeHtml(value("author_name")));
      author.append(name);
      main.append(author);
    }
    if (value("title")) {
      const title = el("div", "dc-title" + (value("url") ? " linked" : ""), markdown(value("title")));
      main.append(title);
    }
    if (value("description")) main.append(el("div", "dc-description", markdown(value("description"))));
    const fields = rows().filter((f) => f.name.trim() || f.value.trim());
    if (fields.length) {
      const grid = el("div", "dc-fields");
      for (const f of fields) {
        const field = el("div", "dc-field" + (f.inline ? " inline" : ""));
        field.append(el("div", "dc-field-name", markdown(f.name)), el("div", "dc-field-value", markdown(f.value)));
        grid.append(field);
      }
      main.append(grid);
    }
    if (value("image_url")) main.append(image(value("image_url"), "dc-image"));
    const stamp = value("timestamp");
    if (value("footer_text") || stamp) {
      const footer = el("div", "dc-footer");
      if (value("footer_icon_url")) footer.append(image(value("footer_icon_url"), "dc-footer-icon"));
      const when = stamp && !Number.isNaN(Date.parse(stamp)) ? new Date(stamp).toLocaleString() : "";
      footer.append(el("span", "", escapeHtml([value("footer_text"), when].filter(Boolean).join(" • "))));
      main.append(footer);
    }
    preview.append(main);
    if (value("thumbnail_url")) preview.append(image(value("thumbnail_url"), "dc-thumbnail"));
    count(fields);
  }

  // Counters: each text against its limit, the fields, and the 6000 characters in all.
  function count(fields) {
    const lengths = {
      title: value("title").length,
      description: value("description").length,
      author_name: value("author_name").length,
      footer_text: value("footer_text").length,
      fields: fields.length,
    };
    lengths.total = lengths.title + lengths.description + lengths.author_name + lengths.footer_text +
      fields.reduce((sum, f) => sum + f.name.length + f.value.length, 0);
    for (const counter of form.querySelectorAll("[data-counter]")) {
      const used = lengths[counter.dataset.counter] || 0;
      const limit = Number(counter.dataset.limit);
      counter.textContent = `${used} / ${limit}`;
      counter.classList.toggle("over", used > limit);
    }
  }

  function addRow() {
    const row = template.content.firstElementChild.cloneNode(true);
    list.append(row);
    row.querySelector("[name=field_name]").focus();
    draw();
  }

  form.addEventListener("input", draw);
  form.addEventListener("change", draw);
  form.addEventListener("click", (event) => {
    const button = event.target.closest("button");
    if (!button) return;
    const row = button.closest("[data-field-row]");
    if (button.hasAttribute("data-add-field")) addRow();
    else if (row && button.dataset.move === "up" && row.previousElementSibling) row.previousElementSibling.before(row);
    else if (row && button.dataset.move === "down" && row.nextElementSibling) row.nextElementSibling.after(row);
    else if (row && button.hasAttribute("data-remove")) row.remove();
    else return;
    draw();
  });
  const pick = form.querySelector("[data-color-pick]");
  const colorText = form.elements.namedItem("color");
  if (pick && colorText) {
    pick.addEventListener("input", () => { colorText.value = pick.value; draw(); });
    colorText.addEventListener("input", () => {
      if (/^#[0-9a-fA-F]{6}$/.test(colorText.value)) pick.value = colorText.value;
    });
  }
  draw();
})();
