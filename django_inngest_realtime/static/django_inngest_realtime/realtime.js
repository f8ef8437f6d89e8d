/*
 * django-inngest-realtime browser client. No build step, no dependencies.
 *
 *   const sub = DjangoInngestRealtime.subscribe(token, (message) => { ... }, options);
 *   sub.close();
 *
 * options: since (resume position), element (where events are dispatched), onStatus(state),
 * onGap(frame), onRunStatus(status, message), run ({id, status, error}: the run state the
 * page was rendered with), refreshUrl.
 *
 * Run status: the server publishes each Inngest run's lifecycle as `kind: "run"` messages
 * ({status: "running" | "completed" | "failed" | "cancelled", output, error}). The handle
 * keeps `runStatus` (of the last run it heard of, "running" from its first message on),
 * `runId`, `runOutput` and `runError`, calls onRunStatus when a run's status changes, and
 * dispatches `inngest-realtime:run` ({status, runId, output, error, channel}).
 *
 * One WebSocket per server multiplexes every subscription on the page (subscriptions with
 * the same channel and topics share one server subscription). It reconnects with
 * exponential backoff and jitter, resumes each subscription from the last position it saw
 * (so nothing published meanwhile is lost; duplicates are dropped by message id),
 * refreshes expired tokens through the token-refresh view, and falls back to Server-Sent
 * Events when WebSockets fail to open. Status changes and messages are also dispatched as
 * CustomEvents: `inngest-realtime:status` ({state, channel}), `inngest-realtime:message`
 * ({message}), `inngest-realtime:gap` ({channel, position}); states are `connecting`,
 * `live`, `reconnecting`, `offline` (refused, or the server unreachable) and `closed`
 * (closed by the caller), the vocabulary the widgets show.
 *
 * Streams (`publish_stream()`: `datastream-start`, `chunk`..., `datastream-end`) are
 * assembled as Inngest's clients mean to: each of the stream's messages carries
 * `message.stream`, a ReadableStream of the chunks' text that closes at `datastream-end`
 * (and `message.streamId`), so `for await (const text of message.stream)` on the
 * `datastream-start` message reads the whole stream.
 */
(function () {
  "use strict";

  var BACKOFF_MIN = 500;
  var BACKOFF_MAX = 30000;
  var WS_FAILURES_BEFORE_SSE = 3;
  var SEEN_IDS = 2000;
  var nextId = 1;

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

  function minPosition(a, b) {
    if (a == null) return b;
    if (b == null) return a;
    return Math.min(a, b);
  }

  var RUN_STATUSES = ["running", "completed", "failed", "cancelled"];

  /* What the page holds: one callback, its element and the ids it has seen. */
  function Handle(entry, onMessage, options) {
    this.entry = entry;
    this.channel = entry.channel;
    this.onMessage = onMessage;
    this.options = options;
    this.element = options.element || null;
    this.seen = [];
    this.seenSet = new Set();
    this.state = null;
    this.streams = new Map();  // stream id -> {stream, controller}
    this.runs = new Map();  // run id -> status
    this.runStatus = null;
    this.runId = null;
    this.runOutput = undefined;
    this.runError = null;
    var run = options.run;  // the run the page was rendered with: {id, status, error}
    if (run && run.id && RUN_STATUSES.indexOf(run.status) >= 0) {
      this.runs.set(run.id, run.status);
      this.runStatus = run.status;
      this.runId = run.id;
      this.runError = run.error || null;
    }
  }

  /* A run's status from a `kind: "run"` message, or "running" from its first data message. */
  Handle.prototype.trackRun = function (message) {
    var runId = message.run_id;
    if (!runId) return;
    var data = message.data || {};
    var status = message.kind === "run" ? data.status : "running";
    if (RUN_STATUSES.indexOf(status) < 0) return;
    var known = this.runs.get(runId);
    if (known === status || (known && known !== "running")) return;  // told already, or ended
    if (message.kind !== "run" && known) return;
    this.runs.set(runId, status);
    this.runStatus = status;
    this.runId = runId;
    this.runOutput = data.output;
    this.runError = data.error || null;
    if (this.options.onRunStatus) this.options.onRunStatus(status, message, this);
    dispatch("run", {status: status, runId: runId, output: data.output, error: this.runError,
                     channel: this.channel}, this.element);
  };

  /* The message as this handle's callback sees it: stream frames get their ReadableStream. */
  Handle.prototype.withStream = function (message) {
    var id = message.stream_id;
    if (!id || typeof ReadableStream === "undefined") return message;
    var open = this.streams.get(id);
    if (message.kind === "datastream-start" && !open) {
      var controller = null;
      var stream = new ReadableStream({start: function (c) { controller = c; }});
      open = {stream: stream, controller: controller};
      this.streams.set(id, open);
    }
    if (!open) return message;  // joined mid-stream: the frames pass as they are
    if (message.kind === "chunk") open.controller.enqueue(message.data);
    if (message.kind === "datastream-end") {
      open.controller.close();
      this.streams.delete(id);
    }
    return Object.assign({}, message, {stream: open.stream, streamId: id});
  };

  Handle.prototype.closeStreams = function () {
    this.streams.forEach(function (open) {
      try { open.controller.close(); } catch (err) { /* already closed */ }
    });
    this.streams.clear();
  };

  Handle.prototype.setState = function (state) {
    if (this.state === state) return;
    this.state = state;
    if (this.options.onStatus) this.options.onStatus(state, this);
    dispatch("status", {state: state, channel: this.channel}, this.element);
  };

  Handle.prototype.deliver = function (message) {
    if (message.kind === "gap") {
      // Frames were missed: a stream in progress cannot be completed.
      this.streams.forEach(function (open) {
        try { open.controller.error(new Error("messages were missed (gap)")); } catch (err) { /* closed */ }
      });
      this.streams.clear();
      if (this.options.onGap) this.options.onGap(message, this);
      dispatch("gap", {channel: this.channel, position: message.position}, this.element);
      return;
    }
    if (message.id != null) {
      if (this.seenSet.has(message.id)) return;  // a resumed or shared duplicate
      this.seenSet.add(message.id);
      this.seen.push(message.id);
      if (this.seen.length > SEEN_IDS) this.seenSet.delete(this.seen.shift());
    }
    this.trackRun(message);
    message = this.withStream(message);
    try {
      if (this.onMessage) this.onMessage(message, this);
    } finally {
      dispatch("message", {message: message}, this.element);
    }
  };

  Handle.prototype.close = function () {
    this.entry.removeHandle(this);
    this.closeStreams();
    this.setState("closed");
  };

  Object.defineProperty(Handle.prototype, "token", {get: function () { return this.entry.token; }});

  /* One server subscription: a token, a position, the handles sharing it. */
  function Entry(connection, token, since) {
    this.connection = connection;
    this.id = "s" + (nextId++);
    this.key = token.channel + "|" + token.topics.slice().sort().join(",");
    this.token = token;
    this.channel = token.channel;
    this.topics = new Set(token.topics);
    this.position = since;
    this.handles = new Set();
    this.source = null;
  }

  Entry.prototype.each = function (fn) { Array.from(this.handles).forEach(fn); };

  Entry.prototype.setState = function (state) {
    this.each(function (handle) { handle.setState(state); });
  };

  Entry.prototype.deliver = function (message) {
    if (message.kind !== "gap" && !this.topics.has(message.topic)) return;
    if (message.kind === "gap") {
      this.position = message.position;
    } else if (typeof message.seq === "number" &&
               (this.position == null || message.seq > this.position)) {
      this.position = message.seq;
    }
    this.each(function (handle) { handle.deliver(message); });
  };

  Entry.prototype.subFrame = function () {
    var frame = {kind: "sub", id: this.id, data: this.token.key, channel: this.channel};
    if (this.position != null) frame.since = this.position;
    return frame;
  };

  Entry.prototype.removeHandle = function (handle) {
    this.handles.delete(handle);
    if (this.handles.size === 0) this.connection.remove(this);
  };

  /* Ask the server for a fresh token for the same channel and topics. */
  Entry.prototype.refresh = function () {
    var self = this;
    var first = Array.from(this.handles)[0];
    var url = (first && first.options.refreshUrl) ||
      new URL("v1/realtime/token/refresh", baseUrl(this.token)).href;
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

  /* The page's connection to one server. */
  function Connection(url) {
    this.url = url;
    this.entries = new Map();  // key -> Entry
    this.byId = new Map();     // id -> Entry
    this.socket = null;
    this.attempt = 0;
    this.failures = 0;
    this.everOpened = false;
    this.useSSE = !("WebSocket" in window);
    this.timer = null;
  }

  Connection.prototype.each = function (fn) { Array.from(this.entries.values()).forEach(fn); };

  Connection.prototype.subscribe = function (token, onMessage, options) {
    var since = options.since == null || options.since === "" ? null : Number(options.since);
    var entry = this.entries.get(token.channel + "|" + token.topics.slice().sort().join(","));
    var fresh = !entry;
    if (fresh) {
      entry = new Entry(this, token, since);
      this.entries.set(entry.key, entry);
      this.byId.set(entry.id, entry);
    }
    var handle = new Handle(entry, onMessage, options);
    entry.handles.add(handle);
    handle.setState("connecting");
    var resume = !fresh && since != null && (entry.position == null || since < entry.position);
    if (resume) entry.position = minPosition(entry.position, since);
    if (fresh || resume) this.send(entry);
    else if (this.socket && this.socket.readyState === WebSocket.OPEN) handle.setState("live");
    return handle;
  };

  Connection.prototype.send = function (entry) {
    if (this.useSSE) return this.openSSE(entry);
    if (this.socket && this.socket.readyState === WebSocket.OPEN) {
      this.socket.send(JSON.stringify(entry.subFrame()));
    } else if (!this.socket && !this.timer) {
      this.connect();
    }
  };

  Connection.prototype.remove = function (entry) {
    this.entries.delete(entry.key);
    this.byId.delete(entry.id);
    if (entry.source) entry.source.close();
    if (this.socket && this.socket.readyState === WebSocket.OPEN) {
      this.socket.send(JSON.stringify({kind: "unsub", id: entry.id}));
    }
    if (this.entries.size === 0 && this.socket) {
      this.socket.onclose = null;
      this.socket.close(1000, "no subscriptions");
      this.socket = null;
    }
  };

  Connection.prototype.connect = function () {
    var self = this;
    this.timer = null;
    if (this.entries.size === 0) return;
    var url = new URL("v1/realtime/connect", this.url);
    url.protocol = url.protocol === "https:" ? "wss:" : "ws:";
    this.each(function (entry) { entry.setState("connecting"); });
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
      self.each(function (entry) { socket.send(JSON.stringify(entry.subFrame())); });
    };
    socket.onmessage = function (event) {
      var message;
      try { message = JSON.parse(event.data); } catch (err) { return; }
      if (message.kind === "ping") { socket.send('{"kind":"pong"}'); return; }
      if (message.kind === "sub" || message.kind === "error") {
        var entry = self.byId.get(message.id);
        if (!entry) return;
        if (message.kind === "sub") entry.setState("live");
        else self.refused(entry, message);
        return;
      }
      self.each(function (entry) {
        if (entry.channel === message.channel) entry.deliver(message);
      });
    };
    socket.onerror = function () {
      self.each(function (entry) { entry.setState("offline"); });
    };
    socket.onclose = function () {
      if (self.socket !== socket) return;
      self.socket = null;
      self.lost(!opened);
    };
  };

  Connection.prototype.refused = function (entry, error) {
    var self = this;
    if (error.code !== 4410 && error.code !== 4403) { entry.setState("offline"); return; }
    entry.refresh().then(function () {
      if (self.entries.get(entry.key) === entry) self.send(entry);
    }, function () { entry.setState("offline"); });
  };

  Connection.prototype.lost = function (failedToOpen) {
    var self = this;
    if (failedToOpen) this.failures += 1;
    if (this.failures >= WS_FAILURES_BEFORE_SSE && !this.everOpened) {
      this.useSSE = true;
      this.each(function (entry) { self.openSSE(entry); });
      return;
    }
    this.each(function (entry) { entry.setState("reconnecting"); });
    if (this.entries.size && !this.timer) {
      this.timer = setTimeout(function () { self.connect(); }, backoff(this.attempt++));
    }
  };

  /* Server-Sent Events, one stream per subscription; the browser resumes it itself. */
  Connection.prototype.openSSE = function (entry) {
    var self = this;
    if (entry.source) entry.source.close();
    var url = new URL("v1/realtime/sse", this.url);
    url.searchParams.set("token", entry.token.key);
    if (entry.position != null) url.searchParams.set("since", String(entry.position));
    entry.setState("connecting");
    // No credentials: the page's own cookies still go with a same-origin stream, and a
    // stream from another origin (ALLOWED_ORIGINS) is CORS without credentials.
    var source = new EventSource(url.href);
    entry.source = source;
    source.onopen = function () { entry.setState("live"); };
    source.onmessage = function (event) {
      try { entry.deliver(JSON.parse(event.data)); } catch (err) { /* not ours */ }
    };
    source.addEventListener("gap", function (event) { entry.deliver(JSON.parse(event.data)); });
    source.onerror = function () {
      if (source.readyState !== EventSource.CLOSED) { entry.setState("connecting"); return; }
      entry.setState("offline");
      // Refused (an expired token, for example): refresh, then open a new stream.
      setTimeout(function () {
        if (self.entries.get(entry.key) !== entry) return;
        entry.refresh().then(function () { self.openSSE(entry); }, function () {
          setTimeout(function () {
            if (self.entries.get(entry.key) === entry) self.openSSE(entry);
          }, backoff(3));
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
    /* Subscribe with a token from get_subscription_token(); returns a handle with close(). */
    subscribe: function (token, onMessage, options) {
      if (typeof token === "string") token = JSON.parse(token);
      return connectionFor(token).subscribe(token, onMessage, options || {});
    },
    /* For tests and debugging: drop every socket as if the network failed. */
    _dropConnections: function () {  // for tests: as if the network dropped every connection
      connections.forEach(function (c) {
        if (c.socket) c.socket.close(4000, "dropped");
        c.each(function (entry) {
          if (entry.source) { entry.source.close(); c.openSSE(entry); }
        });
      });
    }
  };
})();
