// Preselect the browser's own time zone in a fresh form (the visitor can still change it).
// Some browsers report an older name for a zone (Asia/Calcutta for Asia/Kolkata): the select
// carries those names and the zone each stands for in data-zone-aliases.
document.addEventListener("DOMContentLoaded", function () {
  var zone;
  try { zone = Intl.DateTimeFormat().resolvedOptions().timeZone; } catch (e) { return; }
  if (!zone) { return; }
  document.querySelectorAll("select[data-browser-timezone]").forEach(function (select) {
    var aliases = {};
    try { aliases = JSON.parse(select.getAttribute("data-zone-aliases") || "{}"); } catch (e) { aliases = {}; }
    var wanted = aliases[zone] || (zone === "Etc/UTC" ? "UTC" : zone);
    for (var i = 0; i < select.options.length; i++) {
      if (select.options[i].value === wanted) { select.value = wanted; return; }
    }
  });
});
