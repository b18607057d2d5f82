// Preselect the browser's own time zone in a fresh form (the visitor can still change it).
document.addEventListener("DOMContentLoaded", function () {
  var zone;
  try { zone = Intl.DateTimeFormat().resolvedOptions().timeZone; } catch (e) { return; }
  document.querySelectorAll("select[data-browser-timezone]").forEach(function (select) {
    for (var i = 0; i < select.options.length; i++) {
      if (select.options[i].value === zone) { select.value = zone; return; }
    }
  });
});
