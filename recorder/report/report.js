// contract-recorder report: expand/collapse operations, filter findings by severity, open linked operations.
// The page works without this script; it only adds conveniences.
(function () {
  "use strict";
  var root = document.documentElement;
  root.classList.add("js");
  var operations = function () { return document.querySelectorAll("details.operation"); };
  document.querySelectorAll("#toolbar button[data-action]").forEach(function (button) {
    button.addEventListener("click", function () {
      var open = button.getAttribute("data-action") === "expand";
      operations().forEach(function (d) { d.open = open; });
    });
  });
  document.querySelectorAll("#toolbar input[data-filter]").forEach(function (box) {
    box.addEventListener("change", function () {
      root.classList.toggle("hide-" + box.getAttribute("data-filter"), !box.checked);
    });
  });
  function openTarget() {
    var id = decodeURIComponent(location.hash.slice(1));
    var target = id && document.getElementById(id);
    if (target && target.tagName === "DETAILS") { target.open = true; }
  }
  window.addEventListener("hashchange", openTarget);
  openTarget();
})();
