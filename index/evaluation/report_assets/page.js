// The question table of a newsbot report: filters, search, rows that open to their detail.
// Data comes from the page's <script type="application/json" id="data">; text is set with
// textContent only, so nothing in a question or an article can become markup.
(function () {
  "use strict";
  var data = JSON.parse(document.getElementById("data").textContent);
  var table = document.getElementById("rows"), count = document.getElementById("count");
  var more = document.getElementById("more"), search = document.getElementById("search");
  var filters = {}, limit = 200;
  function el(tag, cls, text) {
    var e = document.createElement(tag);
    if (cls) e.className = cls;
    if (text !== undefined && text !== null) e.textContent = String(text);
    return e;
  }
  function slug(s) { return String(s).toLowerCase().replace(/[^a-z0-9]+/g, "-"); }
  data.filters.forEach(function (f) {
    var box = document.getElementById("filter-" + f.key);
    if (!box) return;
    var sel = el("select"); sel.setAttribute("aria-label", f.label); sel.dataset.key = f.key;
    sel.appendChild(el("option", null, "every " + f.label)).value = "";
    f.values.forEach(function (v) {
      var n = data.rows.filter(function (r) { return r[f.key] === v[0]; }).length;
      var o = sel.appendChild(el("option", null, v[0] + " (" + n + ")")); o.value = v[0];
    });
    sel.value = (data.defaults || {})[f.key] || "";
    filters[f.key] = sel.value;
    sel.addEventListener("change", function () { filters[f.key] = sel.value; limit = 200; draw(); });
    box.appendChild(sel);
  });
  document.querySelectorAll("[data-filter]").forEach(function (a) {
    a.addEventListener("click", function (ev) {
      ev.preventDefault();
      var parts = a.dataset.filter.split("="), key = parts[0], value = parts.slice(1).join("=");
      document.querySelectorAll("select[data-key]").forEach(function (s) {
        if (s.dataset.key === key) s.value = value;
      });
      filters[key] = value; limit = 200; draw();
      document.getElementById("questions").scrollIntoView();
    });
  });
  search.addEventListener("input", function () { limit = 200; draw(); });
  more.addEventListener("click", function () { limit = Infinity; draw(); });
  function visible() {
    var words = search.value.toLowerCase().split(/\s+/).filter(Boolean);
    return data.rows.filter(function (r) {
      for (var k in filters) if (filters[k] && r[k] !== filters[k]) return false;
      var hay = (r.q + " " + r.id).toLowerCase();
      return words.every(function (w) { return hay.indexOf(w) >= 0; });
    });
  }
  function detail(row) {
    var box = el("div", "detail");
    row.d.forEach(function (s) {
      box.appendChild(el("h4", null, s.h));
      if (s.text !== undefined) box.appendChild(el("p", "text", s.text));
      if (s.list) {
        var ul = box.appendChild(el("ol"));
        s.list.forEach(function (item) { ul.appendChild(el("li", null, item)); });
      }
      if (s.kv) {
        var t = box.appendChild(el("table", "kv"));
        s.kv.forEach(function (p) {
          var tr = t.appendChild(el("tr")); tr.appendChild(el("th", null, p[0])); tr.appendChild(el("td", null, p[1]));
        });
      }
    });
    return box;
  }
  function draw() {
    var rows = visible(), shown = rows.slice(0, limit);
    table.textContent = "";
    shown.forEach(function (r) {
      var tr = el("tr", "row"); tr.tabIndex = 0;
      data.columns.forEach(function (c) {
        var td = tr.appendChild(el("td", c.cls || null));
        if (c.badge) td.appendChild(el("span", "badge o-" + slug(r[c.key] || ""), r[c.key] || ""));
        else td.textContent = r[c.key] === undefined || r[c.key] === null ? "" : String(r[c.key]);
      });
      function toggle() {
        var next = tr.nextSibling;
        if (next && next.classList.contains("open")) { next.remove(); tr.classList.remove("opened"); return; }
        var d = el("tr", "open"), td = d.appendChild(el("td"));
        td.colSpan = data.columns.length; td.appendChild(detail(r));
        tr.after(d); tr.classList.add("opened");
      }
      tr.addEventListener("click", toggle);
      tr.addEventListener("keydown", function (ev) { if (ev.key === "Enter") toggle(); });
      table.appendChild(tr);
    });
    count.textContent = "showing " + shown.length + " of " + rows.length + " (" + data.rows.length + " in all)";
    more.hidden = shown.length >= rows.length;
    more.textContent = "show all " + rows.length;
  }
  draw();
  document.body.dataset.ready = "1";
})();
