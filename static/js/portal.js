// Small progressive enhancements; every page also works without JavaScript.
document.addEventListener("change", (event) => {
  const el = event.target;
  if (el instanceof HTMLSelectElement && el.hasAttribute("data-autosubmit")) {
    el.form.requestSubmit();
  }
});
// A form that destroys something asks first: <form data-confirm="Delete this ...?"> (the
// Content Security Policy forbids inline onsubmit handlers).
document.addEventListener("submit", (event) => {
  const question = event.target.getAttribute && event.target.getAttribute("data-confirm");
  if (question && !window.confirm(question)) event.preventDefault();
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
// Short URLs: a GET form sends no empty parameter (the server treats empty as absent anyway):
// "" , a yes/no filter's "unknown", or a field's own default (data-default) is not sent.
function isEmptyParam(el, value) {
  return value === "" || value === "unknown" || (el && el.dataset && el.dataset.default === value);
}
document.addEventListener("submit", (event) => {
  const form = event.target;
  if (!(form instanceof HTMLFormElement) || (form.method || "get").toLowerCase() !== "get") return;
  const emptied = [];
  for (const el of form.elements) {
    if (el.name && !el.disabled && "value" in el && el.type !== "checkbox" && el.type !== "radio" && isEmptyParam(el, el.value)) {
      el.disabled = true;
      emptied.push(el);
    }
  }
  // Re-enabled after the browser has read the form, so the page (bfcache) keeps working fields.
  setTimeout(() => emptied.forEach((el) => { el.disabled = false; }), 0);
});
// The same for htmx requests of GET forms (filters that refresh the list as you type).
document.addEventListener("htmx:configRequest", (event) => {
  if (event.detail.verb !== "get") return;
  const params = event.detail.parameters;
  const form = event.detail.elt instanceof HTMLFormElement ? event.detail.elt : event.detail.elt.closest("form");
  const keys = params instanceof FormData ? Array.from(new Set(params.keys())) : Object.keys(params);
  keys.forEach((key) => {
    const value = params instanceof FormData ? params.getAll(key) : params[key];
    const values = Array.isArray(value) ? value : [value];
    const el = form ? form.elements.namedItem(key) : null;
    if (values.every((v) => v === undefined || v === null || isEmptyParam(el instanceof Element ? el : null, v))) {
      if (params instanceof FormData) params.delete(key); else delete params[key];
    }
  });
});
// "Tick every row on this page": <input type="checkbox" data-check-all="ids"> ticks the rows'
// checkboxes named "ids" of the same form.
document.addEventListener("change", (event) => {
  const box = event.target.closest("[data-check-all]");
  if (!box) return;
  const name = box.getAttribute("data-check-all");
  document.querySelectorAll(`input[type=checkbox][name="${name}"]`).forEach((el) => {
    el.checked = box.checked;
  });
});
