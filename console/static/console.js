// Huimin console: the little the pages need beyond HTML. No framework, no
// build step; it runs in the Chromium cores of the 360 and QQ browsers.
(function () {
  "use strict";
  document.addEventListener("DOMContentLoaded", function () {
    // "Select all" boxes: data-select-all="name" toggles every box of that name.
    document.querySelectorAll("[data-select-all]").forEach(function (all) {
      var name = all.getAttribute("data-select-all");
      all.addEventListener("change", function () {
        document.querySelectorAll('input[type=checkbox][name="' + name + '"]').forEach(function (b) {
          b.checked = all.checked;
        });
      });
    });
    // Forms that change money ask first.
    document.querySelectorAll("form[data-confirm]").forEach(function (f) {
      f.addEventListener("submit", function (ev) {
        if (!window.confirm(f.getAttribute("data-confirm"))) {
          ev.preventDefault();
        }
      });
    });
    // Print buttons.
    document.querySelectorAll("[data-print]").forEach(function (b) {
      b.addEventListener("click", function () { window.print(); });
    });
    // A file over the upload limit is refused here, before it is sent.
    document.querySelectorAll("input[type=file][data-max-bytes]").forEach(function (inp) {
      inp.addEventListener("change", function () {
        var max = parseInt(inp.getAttribute("data-max-bytes"), 10);
        if (inp.files.length && inp.files[0].size > max) {
          inp.setCustomValidity(document.documentElement.lang === "en"
            ? "The file is over 1 MiB: use huimin ledger verify on the server."
            : "文件超过 1 MiB，请在服务器上使用 huimin ledger verify 命令校验。");
        } else {
          inp.setCustomValidity("");
        }
      });
    });
  });
})();
