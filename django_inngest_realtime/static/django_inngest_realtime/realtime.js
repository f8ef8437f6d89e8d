/*
 * django-inngest-realtime browser client. No build step, no dependencies.
 *
 *   const sub = DjangoInngestRealtime.subscribe(token, (message) => { ... });
 *   sub.close();
 *
 * One WebSocket per server multiplexes every subscription on the page. It reconnects
 * with exponential backoff and jitter, resumes each channel from the last position it
 * saw (so nothing published meanwhile is lost), refreshes expired tokens through the
 * token-refresh view, and falls back to Server-Sent Events when WebSockets fail.
 * Status changes and messages are also dispatched on `document` as CustomEvents:
 * `inngest-realtime:status` ({state, channel}), `inngest-realtime:message`
 * ({message}), `inngest-realtime:gap` ({channel, position}).
 */
(function () {
  "use strict";

  var BACKOFF_MIN = 500;
  var BACKOFF_MAX = 30000;
  var WS_FAILURES_BEFORE_SSE = 3;
  var SEEN_IDS = 2000;

  function dispatch(name, detail, target) {
    (target || document).dispatchEvent(new CustomEvent("inngest-realtime:" + name, {
      detail: detail, bubbles: true
    }));
  }

  function baseUrl(token) {
    return new URL(token.apiBaseUrl || "/", window.location.href);
  }

  function csrfToken() {
    var match = document.cookie.match(/(?:^|;\s*)csrftoken=([^;]+)/);
    if (match) return decodeURIComponent(match[1]);
    var input = document.querySelector("[name=csrfmiddlewaretoken]");
    return input ? input.value : "";
  }

  function backoff(attempt) {
    var ceiling = Math.min(BACKOFF_MAX, BACKOFF_MIN * Math.pow(2, attempt));
    return ceiling / 2 + Math.random() * ceiling / 2;
  }

  /* One channel subscription: its token, position and listeners. */
  function Subscription(connection, token, onMessage, options) {
    this.connection = connection;
    this.token = token;
    this.channel = token.channel;
    this.onMessage = onMessage;
    this.options = options || {};
    this.element = this.options.element || null;
    this.position = this.options.since == null ? null : Number(this.options.since);
    this.seen = [];
    this.seenSet = new Set();
    this.state = "connecting";
    this.closed = false;
    this.source = null;
  }

  Subscription.prototype.setState = function (state) {
    if (this.state === state) return;
    this.state = state;
    if (this.options.onStatus) this.options.onStatus(state, this);
    dispatch("status", {state: state, channel: this.channel}, this.element);
  };

  Subscription.prototype.deliver = function (message) {
    if (message.kind === "gap") {
      this.position = message.position;
      if (this.options.onGap) this.options.onGap(message, this);
      dispatch("gap", {channel: this.channel, position: message.position}, this.element);
      return;
    }
    if (message.id != null) {
      if (this.seenSet.has(message.id)) return;  // a resumed duplicate
      this.seenSet.add(message.id);
      this.seen.push(message.id);
      if (this.seen.length > SEEN_IDS) this.seenSet.delete(this.seen.shift());
    }
    if (typeof message.seq === "number" && (this.position == null || message.seq > this.position)) {
      this.position = message.seq;
    }
    try {
      if (this.onMessage) this.onMessage(message, this);
    } finally {
      dispatch("message", {message: message}, this.element);
    }
  };

  Subscription.prototype.subFrame = function () {
    var frame = {kind: "sub", data: this.token.key, channel: this.channel};
    if (this.position != null) frame.since = this.position;
    return frame;
  };

  /* Ask the server for a fresh token for the same channel and topics. */
  Subscription.prototype.refresh = function () {
    var self = this;
    var url = this.options.refreshUrl || new URL("v1/realtime/token", baseUrl(this.token)).href;
    return fetch(url, {
      method: "POST",
      credentials: "same-origin",
      headers: {"Content-Type": "application/json", "X-CSRFToken": csrfToken()},
      body: JSON.stringify({channel: this.channel, topics: this.token.topics})
    }).then(function (response) {
      if (!response.ok) throw new Error("token refresh failed: HTTP " + response.status);
      return response.json();
    }).then(function (token) {
      self.token = token;
      return token;
    });
  };

  Subscription.prototype.close = function () {
    if (this.closed) return;
    this.closed = true;
    this.connection.remove(this);
    if (this.source) this.source.close();
    this.setState("closed");
  };

  /* The page's connection to one server. */
  function Connection(url) {
    this.url = url;
    this.subs = new Map();
    this.socket = null;
    this.attempt = 0;
    this.failures = 0;
    this.everOpened = false;
    this.useSSE = !("WebSocket" in window);
    this.timer = null;
  }

  Connection.prototype.add = function (sub) {
    this.subs.set(sub.channel, sub);
    if (this.useSSE) return this.openSSE(sub);
    if (this.socket && this.socket.readyState === WebSocket.OPEN) {
      this.socket.send(JSON.stringify(sub.subFrame()));
    } else if (!this.socket) {
      this.connect();
    }
  };

  Connection.prototype.remove = function (sub) {
    if (this.subs.get(sub.channel) !== sub) return;
    this.subs.delete(sub.channel);
    if (this.socket && this.socket.readyState === WebSocket.OPEN) {
      this.socket.send(JSON.stringify({kind: "unsub", channel: sub.channel}));
    }
    if (this.subs.size === 0 && this.socket) {
      this.socket.onclose = null;
      this.socket.close(1000, "no subscriptions");
      this.socket = null;
    }
  };

  Connection.prototype.each = function (fn) {
    Array.from(this.subs.values()).forEach(fn);
  };

  Connection.prototype.connect = function () {
    var self = this;
    this.timer = null;
    if (this.subs.size === 0) return;
    var url = new URL("v1/realtime/connect", this.url);
    url.protocol = url.protocol === "https:" ? "wss:" : "ws:";
    this.each(function (sub) { sub.setState("connecting"); });
    var socket;
    try {
      socket = new WebSocket(url.href);
    } catch (err) {
      return this.lost(true);
    }
    this.socket = socket;
    var opened = false;
    socket.onopen = function () {
      opened = true;
      self.attempt = 0;
      self.failures = 0;
      self.everOpened = true;
      self.each(function (sub) { socket.send(JSON.stringify(sub.subFrame())); });
    };
    socket.onmessage = function (event) {
      var message;
      try { message = JSON.parse(event.data); } catch (err) { return; }
      if (message.kind === "ping") { socket.send('{"kind":"pong"}'); return; }
      var sub = self.subs.get(message.channel);
      if (!sub) return;
      if (message.kind === "sub") { sub.setState("open"); return; }
      if (message.kind === "error") { return self.refused(sub, message); }
      sub.deliver(message);
    };
    socket.onerror = function () {
      self.each(function (sub) { sub.setState("error"); });
    };
    socket.onclose = function () {
      if (self.socket !== socket) return;
      self.socket = null;
      self.lost(!opened);
    };
  };

  Connection.prototype.refused = function (sub, error) {
    if (error.code === 4410 || error.code === 4403) {
      sub.refresh().then(function () {
        if (!sub.closed && sub.connection.socket) {
          sub.connection.socket.send(JSON.stringify(sub.subFrame()));
        }
      }, function () { sub.setState("error"); });
    } else {
      sub.setState("error");
    }
  };

  Connection.prototype.lost = function (failedToOpen) {
    var self = this;
    if (failedToOpen) this.failures += 1;
    if (this.failures >= WS_FAILURES_BEFORE_SSE && !this.everOpened) {
      this.useSSE = true;
      this.each(function (sub) { self.openSSE(sub); });
      return;
    }
    this.each(function (sub) { sub.setState("closed"); });
    if (this.subs.size && !this.timer) {
      this.timer = setTimeout(function () { self.connect(); }, backoff(this.attempt++));
    }
  };

  /* Server-Sent Events, one stream per subscription; the browser resumes it itself. */
  Connection.prototype.openSSE = function (sub) {
    var self = this;
    var url = new URL("v1/realtime/sse", this.url);
    url.searchParams.set("token", sub.token.key);
    if (sub.position != null) url.searchParams.set("since", String(sub.position));
    sub.setState("connecting");
    var source = new EventSource(url.href, {withCredentials: true});
    sub.source = source;
    source.onopen = function () { sub.setState("open"); };
    source.onmessage = function (event) {
      try { sub.deliver(JSON.parse(event.data)); } catch (err) { /* not ours */ }
    };
    source.addEventListener("gap", function (event) { sub.deliver(JSON.parse(event.data)); });
    source.onerror = function () {
      if (source.readyState !== EventSource.CLOSED) { sub.setState("connecting"); return; }
      sub.setState("error");
      // Refused (expired token, for example): refresh and open a new stream.
      setTimeout(function () {
        if (sub.closed) return;
        sub.refresh().then(function () { self.openSSE(sub); }, function () {
          setTimeout(function () { if (!sub.closed) self.openSSE(sub); }, backoff(3));
        });
      }, backoff(0));
    };
  };

  var connections = new Map();

  function connectionFor(token) {
    var key = baseUrl(token).href;
    if (!connections.has(key)) connections.set(key, new Connection(key));
    return connections.get(key);
  }

  window.DjangoInngestRealtime = {
    /* Subscribe with a token from get_subscription_token(); returns {close(), ...}. */
    subscribe: function (token, onMessage, options) {
      if (typeof token === "string") token = JSON.parse(token);
      var connection = connectionFor(token);
      var existing = connection.subs.get(token.channel);
      if (existing) existing.close();
      var sub = new Subscription(connection, token, onMessage, options);
      connection.add(sub);
      return sub;
    },
    /* For tests and debugging: drop every socket as if the network failed. */
    _dropConnections: function () {
      connections.forEach(function (c) { if (c.socket) c.socket.close(4000, "dropped"); });
    }
  };
})();
