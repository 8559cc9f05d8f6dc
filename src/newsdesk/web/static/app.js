// The reader's keyboard and in-place actions. Local, no other requests than this desk's own.
(() => {
  "use strict";
  const body = document.body;
  const base = body.dataset.base || "";
  const csrf = (document.querySelector('meta[name="csrf"]') || {}).content || "";
  const help = document.getElementById("help");
  const rows = () => Array.from(document.querySelectorAll(".entry"));
  let current = -1;
  let pendingG = false;

  const select = (i) => {
    const all = rows();
    if (!all.length) return;
    current = Math.max(0, Math.min(i, all.length - 1));
    all.forEach((r, n) => r.classList.toggle("current", n === current));
    all[current].scrollIntoView({ block: "nearest" });
  };

  // What the key acts on: the selected row of a list, or the article shown.
  const target = () => {
    if (body.dataset.page === "article") return body;
    const all = rows();
    return current >= 0 ? all[current] : null;
  };

  const setState = (el, field, value) => {
    const params = new URLSearchParams({ csrf: csrf });
    params.set(field, value ? "1" : "0");
    return fetch(`${base}/entry/${el.dataset.id}/state`, {
      method: "POST",
      headers: { "Content-Type": "application/x-www-form-urlencoded", Accept: "application/json" },
      body: params,
      credentials: "same-origin",
    }).then((r) => {
      if (!r.ok) return;
      el.dataset[field] = value ? "1" : "0";
      if (field === "read" && el.classList.contains("entry")) el.classList.toggle("read", value);
      if (field === "starred" && el === body) {
        const star = document.getElementById("star");
        if (star) star.classList.toggle("starred", value);
      }
      body.dataset.lastAction = `${field}:${value ? 1 : 0}:${el.dataset.id}`;
    });
  };

  const toggleHelp = (show) => {
    if (!help) return;
    help.hidden = show === undefined ? !help.hidden : !show;
  };

  document.addEventListener("keydown", (ev) => {
    if (ev.ctrlKey || ev.metaKey || ev.altKey) return;
    const tag = (ev.target && ev.target.tagName) || "";
    if (["INPUT", "TEXTAREA", "SELECT"].includes(tag) || (ev.target && ev.target.isContentEditable)) {
      if (ev.key === "Escape") ev.target.blur();
      return;
    }
    const key = ev.key;
    if (pendingG) {
      pendingG = false;
      if (key === "u") { location.href = `${base}/`; return; }
      if (key === "s") { location.href = `${base}/starred`; return; }
    }
    const el = target();
    switch (key) {
      case "j": select(current + 1); break;
      case "k": select(current - 1); break;
      case "o": case "Enter": {
        if (el && el !== body) {
          const a = el.querySelector("a.title");
          if (a) location.href = a.href;
        }
        break;
      }
      case "v":
        if (el && el.dataset.link) window.open(el.dataset.link, "_blank", "noopener,noreferrer");
        break;
      case "m":
        if (el) setState(el, "read", el.dataset.read !== "1");
        break;
      case "s":
        if (el) setState(el, "starred", el.dataset.starred !== "1");
        break;
      case "/": {
        const q = document.getElementById("q");
        if (q) { ev.preventDefault(); q.focus(); }
        break;
      }
      case "g": pendingG = true; break;
      case "?": toggleHelp(); break;
      case "Escape": toggleHelp(false); break;
      default: return;
    }
  });

  // The setting "mark read on scroll": a row that leaves the screen upwards has been read.
  let passed = null;
  if (body.dataset.scrollRead === "1" && "IntersectionObserver" in window) {
    passed = new IntersectionObserver((seen) => {
      for (const e of seen) {
        const row = e.target;
        if (!e.isIntersecting && e.boundingClientRect.bottom <= 0 && row.dataset.read !== "1") {
          setState(row, "read", true);
        }
      }
    });
    rows().forEach((row) => passed.observe(row));
  }

  // Infinite scroll: when the "older" link comes into view, the next page's rows are appended
  // (the link stays a plain link without the script).
  const more = () => document.getElementById("older");
  if (more() && "IntersectionObserver" in window) {
    let loading = false;
    body.dataset.pages = "1";
    const pager = new IntersectionObserver((seen) => {
      const link = more();
      if (loading || !link || !seen.some((e) => e.isIntersecting)) return;
      loading = true;
      fetch(link.href, { credentials: "same-origin" })
        .then((r) => (r.ok ? r.text() : Promise.reject(r.status)))
        .then((html) => {
          const next = new DOMParser().parseFromString(html, "text/html");
          const list = document.querySelector(".entries");
          for (const row of next.querySelectorAll(".entries > .entry")) {
            const added = document.importNode(row, true);
            list.appendChild(added);
            if (passed) passed.observe(added);
          }
          const following = next.getElementById("older");
          pager.unobserve(link);
          if (following) {
            link.href = following.href;
            pager.observe(link);
          } else {
            link.parentElement.remove();
          }
          body.dataset.pages = String(Number(body.dataset.pages || "1") + 1);
        })
        .catch(() => {})
        .finally(() => { loading = false; });
    });
    pager.observe(more());
  }

  const close = document.getElementById("help-close");
  if (close) close.addEventListener("click", () => toggleHelp(false));
  if (help) help.addEventListener("click", (ev) => { if (ev.target === help) toggleHelp(false); });
  body.dataset.ready = "1";
})();
