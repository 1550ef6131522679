// Sorting and filtering for the static leaderboard page (no network, no dependencies).
(function () {
  "use strict";
  function value(td, type) {
    var v = td.getAttribute("data-v");
    if (v === null || v === "") return null;
    return type === "text" ? v.toLowerCase() : parseFloat(v);
  }
  function sortTable(table, th, dir) {
    var headers = Array.prototype.slice.call(th.parentNode.children);
    var col = headers.indexOf(th);
    var type = th.getAttribute("data-type") || "num";
    var tbody = table.tBodies[0];
    var rows = Array.prototype.slice.call(tbody.rows);
    var sign = dir === "ascending" ? 1 : -1;
    rows.sort(function (a, b) {
      var va = value(a.cells[col], type), vb = value(b.cells[col], type);
      if (va === null && vb === null) return a.getAttribute("data-name") < b.getAttribute("data-name") ? -1 : 1;
      if (va === null) return 1;          // missing values always last
      if (vb === null) return -1;
      if (va < vb) return -sign;
      if (va > vb) return sign;
      return a.getAttribute("data-name") < b.getAttribute("data-name") ? -1 : 1;
    });
    rows.forEach(function (r) {
      tbody.appendChild(r);
      var rankCell = r.cells[0], cell = r.cells[col];
      var rank = cell.getAttribute("data-rank");
      if (th.getAttribute("data-key") !== "rank" && type !== "text") rankCell.textContent = rank || "–";
    });
    headers.forEach(function (h) { h.removeAttribute("aria-sort"); });
    if (type !== "text" && th.getAttribute("data-key").indexOf("m:") === 0) {
      headers[0].setAttribute("title", "rank by " + th.getAttribute("data-key").slice(2));
    }
    th.setAttribute("aria-sort", dir);
    table.setAttribute("data-sorted-by", th.getAttribute("data-key"));
  }
  document.querySelectorAll("table.lb").forEach(function (table) {
    table.querySelectorAll("thead th[data-key]").forEach(function (th) {
      function activate() {
        var current = th.getAttribute("aria-sort");
        var best = th.getAttribute("data-best") || "ascending"; // best-first on the first click
        var dir = current ? (current === "ascending" ? "descending" : "ascending") : best;
        sortTable(table, th, dir);
      }
      th.addEventListener("click", activate);
      th.addEventListener("keydown", function (e) {
        if (e.key === "Enter" || e.key === " ") { e.preventDefault(); activate(); }
      });
    });
  });
  var fSplit = document.getElementById("f-split"), fProtocol = document.getElementById("f-protocol");
  function applyFilter() {
    var shown = 0;
    document.querySelectorAll("section.board").forEach(function (s) {
      var ok = (!fSplit.value || s.getAttribute("data-split") === fSplit.value) &&
               (!fProtocol.value || s.getAttribute("data-protocol") === fProtocol.value);
      s.style.display = ok ? "" : "none";
      if (ok) shown++;
    });
    document.getElementById("empty").style.display = shown ? "none" : "block";
  }
  if (fSplit) fSplit.addEventListener("change", applyFilter);
  if (fProtocol) fProtocol.addEventListener("change", applyFilter);
  // a link to a method opens its details card
  document.querySelectorAll("a.to-details").forEach(function (a) {
    a.addEventListener("click", function () {
      var d = document.getElementById(a.getAttribute("href").slice(1));
      if (d) d.open = true;
    });
  });
})();
