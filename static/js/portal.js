// Small progressive enhancements; every page also works without JavaScript.
document.addEventListener("change", (event) => {
  const el = event.target;
  if (el instanceof HTMLSelectElement && el.hasAttribute("data-autosubmit")) {
    el.form.requestSubmit();
  }
});
// Copy-to-clipboard buttons: <button data-copy-target="#id">.
document.addEventListener("click", (event) => {
  const button = event.target.closest("[data-copy-target]");
  if (!button) return;
  const target = document.querySelector(button.getAttribute("data-copy-target"));
  if (target && navigator.clipboard) {
    navigator.clipboard.writeText(target.textContent.trim());
    button.textContent = "Copied";
  }
});
// A region that scrolls sideways (a wide table on a phone, a long command) can be scrolled from
// the keyboard: it takes focus (WCAG 2.1.1; axe's scrollable-region-focusable).
function focusableScrollers(root) {
  root.querySelectorAll("main table, main .table-responsive, main pre").forEach((el) => {
    if (el.scrollWidth > el.clientWidth + 1 && !el.hasAttribute("tabindex")) {
      el.setAttribute("tabindex", "0");
    }
  });
}
document.addEventListener("DOMContentLoaded", () => focusableScrollers(document));
document.addEventListener("htmx:afterSettle", () => focusableScrollers(document));
window.addEventListener("resize", () => focusableScrollers(document));
// Phones: the client list's filters start folded (unless a filter is set), so rows come first.
document.addEventListener("DOMContentLoaded", () => {
  if (window.matchMedia("(max-width: 767.98px)").matches) {
    document.querySelectorAll("details[data-collapse-on-phone]:not([data-keep-open])").forEach((d) => {
      d.removeAttribute("open");
    });
  }
});
// Dark mode toggle (Bootstrap colour modes): remembered in this browser; without a choice the
// page follows the system setting (set before the first paint in base.html).
document.addEventListener("click", (event) => {
  if (!event.target.closest("[data-theme-toggle]")) return;
  const root = document.documentElement;
  const next = root.getAttribute("data-bs-theme") === "dark" ? "light" : "dark";
  root.setAttribute("data-bs-theme", next);
  try { localStorage.setItem("portal-theme", next); } catch (e) { /* private mode: this page only */ }
});
