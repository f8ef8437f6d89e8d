/*
 * Live widgets rendered by {% load inngest_realtime %} tags. Each widget element carries
 * its token (a JSON <script>), the channel position it was rendered at (data-since) and
 * its options in data- attributes. Message data is only ever set as text, except on
 * live-HTML topics (data-html-topics): fragments the server rendered once from a
 * developer's template (escaped by Django) and checked, applied as DOM actions.
 */
(function () {
  "use strict";

  function tokenOf(element) {
    var script = element.querySelector(":scope > script[type='application/json']");
    return JSON.parse(script.textContent);
  }

  function setStatus(element, state) {
    var status = element.querySelector(":scope > .inngest-realtime-status");
    element.setAttribute("data-state", state);
    if (!status) return;
    status.setAttribute("data-state", state);
    status.textContent = state;
  }

  function asText(data) {
    return typeof data === "string" ? data : JSON.stringify(data);
  }

  /* Live HTML (publish_html): {action, target, html}, rendered once by the server and
   * checked there. The fragment is parsed in an inert document's <template> (nothing in it
   * runs or loads), checked again, and only then imported into the page. */
  var ACTIONS = ["append", "prepend", "replace", "update", "remove", "before", "after"];
  var URL_ATTRIBUTES = ["href", "src", "action", "formaction", "xlink:href", "data", "poster",
                        "background"];
  var REFUSED = "script, style, base, meta, animate, animateMotion, animateTransform, set";
  var inert = null;

  function isLiveHtml(data) {
    return data !== null && typeof data === "object" && ACTIONS.indexOf(data.action) >= 0 &&
      typeof data.target === "string" && data.target !== "" && typeof data.html === "string";
  }

  function unsafe(root) {
    if (root.querySelector(REFUSED)) return "a refused element";
    var elements = root.querySelectorAll("*");
    for (var i = 0; i < elements.length; i++) {
      var attributes = elements[i].attributes;
      for (var j = 0; j < attributes.length; j++) {
        var name = attributes[j].name.toLowerCase();
        var value = attributes[j].value.replace(/[\x00-\x20]+/g, "").toLowerCase();
        if (name.indexOf("on") === 0 || name === "style" || name === "srcdoc") return name;
        if (URL_ATTRIBUTES.indexOf(name) >= 0 && /^(javascript|vbscript):/.test(value)) return name;
      }
    }
    return null;
  }

  function parseFragment(html) {
    inert = inert || document.implementation.createHTMLDocument("");
    var holder = inert.createElement("template");
    holder.innerHTML = html;  // an inert document: a server-rendered fragment, not yet live
    var problem = unsafe(holder.content);
    if (problem) throw new Error("inngest-realtime: refused a live-HTML fragment (" + problem + ")");
    return document.importNode(holder.content, true);
  }

  /* Apply one live-HTML message to the page; false when its target is not on the page. */
  function applyHtml(data) {
    if (!isLiveHtml(data)) return false;
    var target = document.getElementById(data.target);
    if (!target) return false;
    if (data.action === "remove") { target.remove(); return true; }
    var fragment = parseFragment(data.html);
    if (data.action === "append" || data.action === "prepend") {
      // As Turbo Streams do: an element that comes again (same id) replaces the old one.
      Array.prototype.forEach.call(fragment.children, function (child) {
        var old = child.id && document.getElementById(child.id);
        if (old && old.parentNode === target) old.remove();
      });
    }
    if (data.action === "append") target.append(fragment);
    else if (data.action === "prepend") target.prepend(fragment);
    else if (data.action === "update") target.replaceChildren(fragment);
    else if (data.action === "replace") target.replaceWith(fragment);
    else if (data.action === "before") target.before(fragment);
    else target.after(fragment);
    return true;
  }

  function htmlTopicsOf(element) {
    return (element.getAttribute("data-html-topics") || "").split(",").filter(Boolean);
  }

  /* Each message is applied once per page, however many widgets receive it. */
  var applied = new Set();
  var appliedOrder = [];

  function firstTime(id) {
    if (id == null) return true;
    if (applied.has(id)) return false;
    applied.add(id);
    appliedOrder.push(id);
    if (appliedOrder.length > 2000) applied.delete(appliedOrder.shift());
    return true;
  }

  /* Messages on the element's live-HTML topics are applied; the others go to `other`. */
  function htmlHandler(element, other) {
    var topics = htmlTopicsOf(element);
    return function (message) {
      if (message.kind !== "data") return;
      if (topics.indexOf(message.topic) < 0) { if (other) other(message); return; }
      if (!firstTime(message.id)) return;
      try {
        applyHtml(message.data);
      } catch (err) {
        console.error(err);
      }
    };
  }

  function feed(element, token) {
    var list = element.querySelector(":scope > .inngest-realtime-items");
    var limit = Number(element.getAttribute("data-limit") || "50");

    function trim(fromEnd) {
      while (limit > 0 && list.children.length > limit) {
        list.removeChild(fromEnd ? list.lastElementChild : list.firstElementChild);
      }
    }

    function addText(message) {
      var known = Array.prototype.some.call(list.children, function (li) {
        return li.getAttribute("data-id") === message.id;
      });
      if (known) return;  // rendered by the server before the subscription replayed it
      var item = document.createElement("li");
      item.setAttribute("data-id", message.id);
      item.setAttribute("data-seq", String(message.seq));
      item.setAttribute("data-topic", message.topic);
      item.textContent = asText(message.data);
      list.appendChild(item);
      trim(false);
    }

    var applyOrAdd = htmlHandler(element, addText);
    return window.DjangoInngestRealtime.subscribe(token, function (message) {
      applyOrAdd(message);
      var data = message.data;
      if (isLiveHtml(data) && list.id && data.target === list.id) trim(data.action === "prepend");
    }, {
      element: element,
      since: element.getAttribute("data-since"),
      onStatus: function (state) { setStatus(element, state); },
      onGap: function () {
        var note = document.createElement("li");
        note.className = "inngest-realtime-gap";
        note.textContent = "Some earlier messages are no longer available.";
        list.appendChild(note);
        trim(false);
      }
    });
  }

  /* {% realtime_html %}: live HTML for the page's own elements (Turbo's stream source). */
  function liveHtml(element, token) {
    return window.DjangoInngestRealtime.subscribe(token, htmlHandler(element, null), {
      element: element,
      since: element.getAttribute("data-since"),
      onStatus: function (state) { setStatus(element, state); }
    });
  }

  function value(element, token) {
    var text = element.querySelector(":scope > .inngest-realtime-text");
    var topic = element.getAttribute("data-topic");
    var field = element.getAttribute("data-field");
    return window.DjangoInngestRealtime.subscribe(token, function (message) {
      if (message.kind !== "data" || message.topic !== topic) return;
      var data = message.data;
      if (field) {
        if (data === null || typeof data !== "object" || !(field in data)) return;
        data = data[field];
      }
      text.textContent = asText(data);
    }, {
      element: element,
      since: element.getAttribute("data-since"),
      onStatus: function (state) { setStatus(element, state); }
    });
  }

  /* {% realtime_run_status %}: the last run's status; a failure's error message as text. */
  function runStatus(element, token) {
    var text = element.querySelector(":scope > .inngest-realtime-run-status");
    var error = element.querySelector(":scope > .inngest-realtime-run-error");

    function show(status, err) {
      element.setAttribute("data-run-status", status);
      text.setAttribute("data-run-status", status);
      text.textContent = element.getAttribute("data-label-" + status) || status;
      error.textContent = status === "failed" && err && typeof err.message === "string" ?
        err.message : "";
    }

    return window.DjangoInngestRealtime.subscribe(token, function () {}, {
      element: element,
      since: element.getAttribute("data-since"),
      run: JSON.parse(element.getAttribute("data-run") || "null"),
      onStatus: function (state) { setStatus(element, state); },
      onRunStatus: function (status, message, handle) { show(status, handle.runError); }
    });
  }

  var UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;
  var NO_TOKEN = "00000000-0000-0000-0000-000000000000";

  function confirmations(element, token) {
    var list = element.querySelector(":scope > .inngest-realtime-items");
    var topic = element.getAttribute("data-topic");

    // Decisions go to this site's confirmation page, built from the confirmation's id
    // (data-url-template, rendered by the server): never to a URL a message names.
    function pageUrl(tok) {
      var template = element.getAttribute("data-url-template");
      if (!template || !UUID.test(tok)) return null;
      var url = new URL(template.replace(NO_TOKEN, tok), window.location.href);
      return url.origin === window.location.origin ? url.pathname : null;
    }

    function itemFor(tok) {
      return Array.prototype.find.call(list.children, function (li) {
        return li.getAttribute("data-token") === tok;
      });
    }

    function csrf() {
      var input = element.querySelector("[name=csrfmiddlewaretoken]");
      var match = document.cookie.match(/(?:^|;\s*)csrftoken=([^;]+)/);
      return match ? decodeURIComponent(match[1]) : (input ? input.value : "");
    }

    // What a submit asks for: an option's button (name "choice"), the ticked boxes when
    // several options may be chosen, or approve / reject.
    function decisionOf(form, submitter) {
      if (submitter && submitter.name === "choice") return {chosen: [submitter.value]};
      var boxes = form.querySelectorAll("input[type=checkbox][name=choice]");
      if (boxes.length) {
        return {chosen: Array.prototype.filter.call(boxes, function (box) {
          return box.checked;
        }).map(function (box) { return box.value; })};
      }
      return {approved: !submitter || submitter.value === "approve"};
    }

    function enhance(li) {
      var form = li.querySelector("form");
      if (!form || form.__enhanced) return;
      form.__enhanced = true;
      form.addEventListener("submit", function (event) {
        event.preventDefault();
        var body = decisionOf(form, event.submitter);
        var controls = form.querySelectorAll("button, input");
        controls.forEach(function (b) { b.disabled = true; });
        fetch(form.getAttribute("action") + "decide", {
          method: "POST",
          credentials: "same-origin",
          headers: {"Content-Type": "application/json", "X-CSRFToken": csrf()},
          body: JSON.stringify(body)
        }).then(function (response) {
          return response.json().then(function (body) {
            if (!response.ok) {
              li.querySelector(".inngest-realtime-outcome").textContent = body.error || "refused";
              controls.forEach(function (b) { b.disabled = false; });
            }
          });
        });
      });
    }

    function button(name, value, label) {
      var b = document.createElement("button");
      b.name = name;
      b.value = value;
      b.textContent = label;
      return b;
    }

    function controlsFor(form, data) {
      var options = Array.isArray(data.options) ? data.options.filter(function (o) {
        return typeof o === "string";
      }) : [];
      if (!options.length) {
        form.append(button("decision", "approve", "Approve"), " ",
                    button("decision", "reject", "Reject"));
      } else if (data.multiple) {
        options.forEach(function (option) {
          var label = document.createElement("label");
          label.className = "inngest-realtime-option";
          var box = document.createElement("input");
          box.type = "checkbox";
          box.name = "choice";
          box.value = option;
          label.append(box, " " + option);
          form.append(label, " ");
        });
        form.append(button("decision", "approve", "Submit"));
      } else {
        options.forEach(function (option, i) {
          if (i) form.append(" ");
          form.append(button("choice", option, option));
        });
      }
    }

    function build(data) {
      var li = document.createElement("li");
      li.setAttribute("data-token", data.token);
      var title = document.createElement("strong");
      title.className = "inngest-realtime-title";
      title.textContent = data.title || "";
      var message = document.createElement("span");
      message.className = "inngest-realtime-message";
      message.textContent = data.message || "";
      var outcome = document.createElement("span");
      outcome.className = "inngest-realtime-outcome";
      li.append(title, " ", message, " ", outcome);
      var url = pageUrl(data.token);
      if (data.url && data.url !== url) {
        console.warn("inngest-realtime: ignored the decision URL of a message", data.url);
      }
      if (data.url && url) {
        var form = document.createElement("form");
        form.method = "post";
        form.setAttribute("action", url);
        controlsFor(form, data);
        li.append(form);
      }
      return li;
    }

    Array.prototype.forEach.call(list.children, enhance);
    return window.DjangoInngestRealtime.subscribe(token, function (message) {
      var data = message.data;
      if (message.topic !== topic || !data || data.type !== "confirmation") return;
      if (typeof data.token !== "string" || !UUID.test(data.token)) {
        console.warn("inngest-realtime: ignored a confirmation message without a valid id");
        return;
      }
      var li = itemFor(data.token);
      if (!li) {
        if (data.status !== "pending") return;
        li = build(data);
        list.appendChild(li);
      }
      li.setAttribute("data-status", data.status);
      var outcome = li.querySelector(".inngest-realtime-outcome");
      var chosen = Array.isArray(data.chosen) ? data.chosen.map(String) : [];
      outcome.textContent = data.status === "pending" ? "Pending" :
        data.status.charAt(0).toUpperCase() + data.status.slice(1) +
        (data.decided_by ? " by " + data.decided_by : "") +
        (chosen.length ? ": " + chosen.join(", ") : "");
      if (data.status !== "pending") {
        var form = li.querySelector("form");
        if (form) form.remove();
      } else {
        enhance(li);
      }
    }, {
      element: element,
      since: element.getAttribute("data-since"),
      onStatus: function (state) { setStatus(element, state); }
    });
  }

  var kinds = {feed: feed, html: liveHtml, value: value, confirmations: confirmations,
               run: runStatus};

  function start(root) {
    (root || document).querySelectorAll("[data-inngest-realtime]").forEach(function (element) {
      if (element.__inngestRealtime) return;
      var make = kinds[element.getAttribute("data-inngest-realtime")];
      if (!make) return;
      element.__inngestRealtime = make(element, tokenOf(element));
    });
  }

  window.DjangoInngestRealtime.widgets = {start: start, kinds: kinds, setStatus: setStatus};
  /* For your own JavaScript: apply a live-HTML message's data ({action, target, html}). */
  window.DjangoInngestRealtime.applyHtml = applyHtml;
  if (document.readyState === "loading") {
    document.addEventListener("DOMContentLoaded", function () { start(); });
  } else {
    start();
  }
})();
