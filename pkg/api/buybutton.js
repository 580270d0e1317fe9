/* Codex buy button. Turns every <a data-codex-button data-codex-project> link of the page, now and
   later, into a button showing the product's name and price; a click creates a checkout and opens
   the hosted checkout page. Without this script the link itself leads to a page where the buyer can
   pay. No dependencies, no inline code or styles (it works under a strict CSP: script-src naming
   this script's origin, connect-src naming the API), and nothing global besides one marker. */
(function () {
  "use strict";
  if (window.__codexButton) return; // pasted twice: one copy is enough
  window.__codexButton = 1;

  var me = document.currentScript;
  var api = me && me.src ? new URL(me.src).origin : "";
  var SEL = "a[data-codex-button][data-codex-project]";
  var ID = /^[A-Za-z0-9_]{1,64}$/;
  var views = {}; // "project/button" -> Promise of the button's public view
  var seq = 0;

  var MSG = {
    gone: "This item is no longer available.",
    network: "Could not reach the payment service. Check your connection and try again.",
    busy: "The payment service is not available right now. Please try again in a moment.",
    failed: "The checkout could not be started. Please try again."
  };

  function origin(a) {
    // The API is where this script came from; the link's own origin if the script was inlined.
    if (api) return api;
    try { return new URL(a.href, location.href).origin; } catch (e) { return ""; }
  }

  function path(a) {
    return "/public/projects/" + a.getAttribute("data-codex-project") +
      "/buttons/" + a.getAttribute("data-codex-button");
  }

  // fail answers a fetch that did not succeed with the message to show and whether it is final.
  function fail(res) {
    if (!res) return { msg: MSG.network };
    if (res.status === 404) return { msg: MSG.gone, gone: true };
    if (res.status === 429 || res.status >= 500) return { msg: MSG.busy };
    return { msg: MSG.failed };
  }

  function request(url, opts) {
    opts.credentials = "omit";
    opts.mode = "cors";
    return fetch(url, opts).then(function (res) {
      return res.ok ? res.json() : Promise.reject(fail(res));
    }, function () {
      return Promise.reject(fail(null));
    });
  }

  function view(a) {
    var key = origin(a) + path(a);
    if (!views[key]) {
      views[key] = request(key, { method: "GET" });
      // A failure is not cached: a later scan (or click) tries again.
      views[key].catch(function () { delete views[key]; });
    }
    return views[key];
  }

  // price formats an amount of the currency's minor unit: Intl knows how many digits the
  // currency's minor unit has (0 for JPY, 2 for EUR, 3 for KWD).
  function price(amount, currency) {
    var lang = document.documentElement.lang || undefined;
    var f;
    try {
      f = new Intl.NumberFormat(lang, { style: "currency", currency: currency });
    } catch (e) {
      f = new Intl.NumberFormat(undefined, { style: "currency", currency: currency });
    }
    var digits = f.resolvedOptions().maximumFractionDigits;
    return f.format(amount / Math.pow(10, digits));
  }

  function say(a, text) {
    var m = a.__codexMsg;
    m.textContent = text;
    m.hidden = !text;
    a.setAttribute("data-codex-state", text ? "error" : "ready");
  }

  function show(a, v) {
    a.textContent = "Buy " + v.name + " \u2013 " + price(v.unit_amount, v.currency.toUpperCase());
    a.setAttribute("data-codex-state", "ready");
    say(a, "");
  }

  function gone(a, msg) {
    a.setAttribute("aria-disabled", "true");
    a.removeAttribute("href"); // nothing left to buy: neither this script nor the fallback
    a.__codexGone = true;
    say(a, msg);
    a.setAttribute("data-codex-state", "unavailable");
  }

  function onError(a, e) {
    if (e && e.gone) gone(a, e.msg);
    else say(a, (e && e.msg) || MSG.failed);
  }

  function click(ev) {
    var a = ev.currentTarget;
    if (ev.button || ev.metaKey || ev.ctrlKey || ev.shiftKey || ev.altKey) return; // new tab: the fallback
    ev.preventDefault();
    if (a.__codexGone || a.getAttribute("aria-busy") === "true") return; // a double click pays once
    a.setAttribute("aria-busy", "true");
    say(a, "");
    var body = {};
    var q = parseInt(a.getAttribute("data-codex-quantity"), 10);
    if (q > 0) body.quantity = q;
    var ref = a.getAttribute("data-codex-client-reference-id");
    if (ref) body.client_reference_id = ref;
    request(origin(a) + path(a) + "/checkouts", {
      method: "POST",
      headers: { "Content-Type": "application/json" },
      body: JSON.stringify(body)
    }).then(function (c) {
      if (!/^https?:\/\//.test(c.url)) throw 0; // only ever a web page
      a.setAttribute("data-codex-state", "redirecting");
      location.assign(c.url);
    }).catch(function (e) {
      a.removeAttribute("aria-busy");
      onError(a, e);
    });
  }

  function enhance(a) {
    if (a.__codexMsg) return;
    if (!ID.test(a.getAttribute("data-codex-button")) || !ID.test(a.getAttribute("data-codex-project"))) return;
    // The message lives next to the link, in a live region, so a screen reader announces it.
    var m = document.createElement("span");
    m.className = "codex-button-message";
    m.id = "codex-msg-" + (++seq);
    m.setAttribute("role", "status");
    m.style.marginLeft = "0.5em"; // CSSOM, which a CSP without 'unsafe-inline' styles allows
    m.hidden = true;
    a.parentNode.insertBefore(m, a.nextSibling);
    a.__codexMsg = m;
    a.setAttribute("aria-describedby", m.id);
    a.setAttribute("data-codex-state", "loading");
    a.addEventListener("click", click);
    // .catch, not a second argument of .then: it also takes what show throws (a currency this
    // browser's Intl does not know), so no rejection goes unhandled.
    view(a).then(function (v) { show(a, v); }).catch(function (e) { onError(a, e); });
  }

  function scan() {
    var list = document.querySelectorAll(SEL);
    for (var i = 0; i < list.length; i++) enhance(list[i]);
  }

  scan();
  // Single-page apps add buttons later: scan again whenever the page changes.
  new MutationObserver(scan).observe(document.documentElement, { childList: true, subtree: true });
})();
