/* The portal's own small script: what htmx does not do for keyboard and screen-reader users.
 *
 * - Form errors are tied to their fields (aria-invalid, aria-describedby) wherever a
 *   `.field.has-error` holds a control and an `.error` message.
 * - What htmx swaps in is announced in #announcer (an aria-live region): a form that was
 *   refused, a row that changed, or any element carrying data-announce.
 * - Dialogs that htmx opens become modal (focus stays inside, Escape closes them) and give
 *   focus back to what opened them, or to what replaced it.
 * - The specialist's month calendar moves between days with the arrow keys, Home and End.
 * - The header's "Menu" button (narrow windows) and account menu open and close: a click or
 *   Enter/Space toggles, Escape closes and returns focus to the button, a click elsewhere closes.
 * Everything works without it: forms post, links navigate.
 */
(function () {
  "use strict";

  document.documentElement.classList.add("js");

  var opener = null;

  function announce(text) {
    var region = document.getElementById("announcer");
    if (!region || !text) return;
    region.textContent = "";
    window.setTimeout(function () { region.textContent = text; }, 50);
  }

  function tieErrors(root) {
    var fields = (root.querySelectorAll ? root : document).querySelectorAll(".field.has-error");
    fields.forEach(function (field, index) {
      var control = field.querySelector("input:not([type=hidden]), select, textarea");
      var message = field.querySelector(".error");
      // Fields the server already tied (the field macro) are left as they are.
      if (!control || !message || control.hasAttribute("aria-invalid")) return;
      if (!message.id) {
        var id = (control.id || "field-" + index) + "-error";
        message.id = document.getElementById(id) ? id + "-message" : id;
      }
      var described = (control.getAttribute("aria-describedby") || "").split(/\s+/).filter(Boolean);
      if (described.indexOf(message.id) < 0) described.push(message.id);
      control.setAttribute("aria-describedby", described.join(" "));
      control.setAttribute("aria-invalid", "true");
    });
  }

  function firstError(root) {
    return root.querySelector("[aria-invalid=true], .form-errors, .flash-error, [role=alert]");
  }

  function focusable(element) {
    if (!element) return null;
    if (!element.matches("a[href], button, input, select, textarea, [tabindex]")) {
      element.setAttribute("tabindex", "-1");
    }
    return element;
  }

  function openDialogs(root) {
    var dialogs = root.matches && root.matches("dialog.modal[open]") ? [root]
      : Array.prototype.slice.call(root.querySelectorAll ? root.querySelectorAll("dialog.modal[open]") : []);
    dialogs.forEach(function (dialog) {
      if (dialog.classList.contains("is-inline") || !dialog.showModal || dialog.matches(":modal")) return;
      var returnTo = opener;
      dialog.close();
      dialog.showModal();
      var first = dialog.querySelector("[autofocus], textarea, input:not([type=hidden]), button");
      if (first) first.focus();
      dialog.addEventListener("close", function () {
        if (returnTo && document.contains(returnTo)) returnTo.focus();
      }, { once: true });
    });
  }

  document.addEventListener("htmx:beforeRequest", function (event) {
    opener = event.detail.elt;
  });

  function lostFocus() {
    var active = document.activeElement;
    return !active || active === document.body || !document.contains(active);
  }

  /* A day picked on the calendar: its cell keeps the focus, and on a phone (one column) the
     day panel comes to the top of the screen, since it sits below the whole month. */
  function showPickedDay(target) {
    if (target.id !== "calendar-body" || !target.getAttribute("data-selected")) return false;
    var date = opener && opener.getAttribute ? opener.getAttribute("data-date") : null;
    var cell = date ? target.querySelector('[data-date="' + date + '"]') : null;
    if (cell) cell.focus({ preventScroll: true });
    var panel = document.getElementById("day-panel");
    if (panel && window.matchMedia("(max-width: 999px)").matches) panel.scrollIntoView({ block: "start" });
    return Boolean(cell);
  }

  document.addEventListener("htmx:afterSwap", function (event) {
    // After an outerHTML swap the old target is gone: find what took its place by its id.
    // A swap htmx was not asked for by a request (its history restore) names no target.
    var target = event.detail.target || event.target;
    if (!target) return;
    if (!document.contains(target) && target.id) target = document.getElementById(target.id) || target;
    if (!document.contains(target)) return;
    if (showPickedDay(target)) return;
    var status = event.detail.xhr ? event.detail.xhr.status : 200;
    tieErrors(target);
    openDialogs(target);
    if (status === 422) {
      announce("Not saved: please check the form.");
      var error = firstError(target);
      if (error && !(error.closest && error.closest("dialog"))) focusable(error).focus();
      return;
    }
    var told = target.matches("[data-announce]") ? target : target.querySelector("[data-announce]");
    if (told) announce(told.getAttribute("data-announce"));
    if (lostFocus() || (opener && !document.contains(opener))) {
      // What had focus was replaced (a slot booked, a row turned Cancelled): focus the news, or
      // the first control of what replaced it, so the keyboard user carries on from there.
      var news = target.querySelector(".flash, [role=status]:not(#announcer)");
      var next = news ? focusable(news) : (target.querySelector("a[href], button") || focusable(target));
      next.focus();
    }
  });

  /* ---------- focus stays inside an open modal dialog ---------- */

  var FOCUSABLE = "a[href], button:not([disabled]), input:not([disabled]):not([type=hidden]), " +
                  "select:not([disabled]), textarea:not([disabled]), [tabindex]:not([tabindex='-1'])";

  function trapFocus(event) {
    if (event.key !== "Tab") return;
    var dialog = document.querySelector("dialog[open]:modal");
    if (!dialog) return;
    var items = Array.prototype.filter.call(dialog.querySelectorAll(FOCUSABLE), function (el) {
      return el.offsetParent !== null || el === document.activeElement;
    });
    if (!items.length) return;
    var first = items[0], last = items[items.length - 1];
    var inside = dialog.contains(document.activeElement);
    if (event.shiftKey && (document.activeElement === first || !inside)) {
      event.preventDefault();
      last.focus();
    } else if (!event.shiftKey && (document.activeElement === last || !inside)) {
      event.preventDefault();
      first.focus();
    }
  }

  document.addEventListener("keydown", trapFocus);

  /* ---------- the month calendar as a grid ---------- */

  var STEPS = { ArrowLeft: -1, ArrowRight: 1, ArrowUp: -7, ArrowDown: 7 };

  function moveInCalendar(event) {
    var day = event.target.closest ? event.target.closest("[data-calendar-grid] a.day") : null;
    if (!day) return;
    var days = Array.prototype.slice.call(day.closest("[data-calendar-grid]").querySelectorAll("a.day"));
    var index = days.indexOf(day);
    var next = null;
    if (event.key in STEPS) next = days[index + STEPS[event.key]];
    else if (event.key === "Home") next = days[index - (index % 7)];
    else if (event.key === "End") next = days[index - (index % 7) + 6];
    if (!next) return;
    event.preventDefault();
    days.forEach(function (d) { d.setAttribute("tabindex", d === next ? "0" : "-1"); });
    next.focus();
  }

  document.addEventListener("keydown", moveInCalendar);

  /* ---------- the header's menu button and account menu ---------- */

  var TOGGLES = ".menu-toggle, .account-toggle";

  function setOpen(toggle, open) {
    var panel = document.getElementById(toggle.getAttribute("aria-controls"));
    if (!panel) return;
    toggle.setAttribute("aria-expanded", open ? "true" : "false");
    panel.classList.toggle("is-open", open);
  }

  function closeMenus(except) {
    document.querySelectorAll(TOGGLES).forEach(function (toggle) {
      if (toggle !== except && toggle.getAttribute("aria-expanded") === "true") setOpen(toggle, false);
    });
  }

  document.addEventListener("click", function (event) {
    var toggle = event.target.closest ? event.target.closest(TOGGLES) : null;
    if (toggle) {
      setOpen(toggle, toggle.getAttribute("aria-expanded") !== "true");
      return;
    }
    var inside = event.target.closest && event.target.closest(".site-nav.is-open, .account-menu.is-open");
    if (!inside) closeMenus(null);
  });

  document.addEventListener("keydown", function (event) {
    if (event.key !== "Escape") return;
    var open = document.querySelector(".account-toggle[aria-expanded=true]") ||
               document.querySelector(".menu-toggle[aria-expanded=true]");
    if (!open || document.querySelector("dialog[open]")) return;
    setOpen(open, false);
    open.focus();
  });
  document.addEventListener("DOMContentLoaded", function () {
    tieErrors(document);
    var calendar = document.getElementById("calendar-body");
    if (calendar && calendar.getAttribute("data-selected") && window.matchMedia("(max-width: 999px)").matches) {
      document.getElementById("day-panel").scrollIntoView({ block: "start" });
    }
  });
})();
