(function () {
  "use strict";
  // Sorting and filtering of the accounts table. The data is in the DOM (escaped by the
  // writer); this script reads cells and data-* attributes and never builds HTML.
  var table = document.getElementById("accounts");
  if (!table) { return; }
  var body = table.tBodies[0];
  var rows = Array.prototype.slice.call(body.rows);
  var headers = Array.prototype.slice.call(table.tHead.rows[0].cells);
  var text = document.getElementById("filter-text");
  var status = document.getElementById("filter-status");
  var shown = document.getElementById("shown-count");
  var empty = document.getElementById("no-match");
  var collator = new Intl.Collator(undefined, { numeric: true, sensitivity: "base" });

  rows.forEach(function (row, index) { row.setAttribute("data-index", String(index)); });

  function cellKey(row, column) {
    var cell = row.cells[column];
    var key = cell.getAttribute("data-sort");
    return key === null ? cell.textContent.trim() : key;
  }

  function sortBy(column, direction) {
    var numeric = headers[column].getAttribute("data-type") === "number";
    var sign = direction === "descending" ? -1 : 1;
    var sorted = rows.slice().sort(function (a, b) {
      var x = cellKey(a, column);
      var y = cellKey(b, column);
      var order = numeric ? Number(x) - Number(y) : collator.compare(x, y);
      if (order !== 0) { return sign * order; }
      return Number(a.getAttribute("data-index")) - Number(b.getAttribute("data-index"));
    });
    headers.forEach(function (th, i) {
      th.setAttribute("aria-sort", i === column ? direction : "none");
    });
    sorted.forEach(function (row) { body.appendChild(row); });
  }

  function applyFilter() {
    var terms = text.value.toLowerCase().split(/\s+/).filter(Boolean);
    var wanted = status.value;
    var count = 0;
    rows.forEach(function (row) {
      var haystack = row.textContent.toLowerCase();
      var visible = (wanted === "all" || row.getAttribute("data-status") === wanted) &&
        terms.every(function (term) { return haystack.indexOf(term) !== -1; });
      row.hidden = !visible;
      if (visible) { count += 1; }
    });
    shown.textContent = count + " of " + rows.length + " accounts";
    empty.hidden = count !== 0;
  }

  headers.forEach(function (th, column) {
    var button = th.querySelector("button");
    if (!button) { return; }
    button.addEventListener("click", function () {
      var next = th.getAttribute("aria-sort") === "ascending" ? "descending" : "ascending";
      sortBy(column, next);
    });
  });
  text.addEventListener("input", applyFilter);
  status.addEventListener("change", applyFilter);
  applyFilter();
  document.documentElement.setAttribute("data-ready", "true");
})();
