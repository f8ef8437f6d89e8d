// Inngest's v4 React hook, `useRealtime` from `inngest/react`, subscribed to a Django server
// and rendered in Node by react-test-renderer (no DOM needed). It prints, as JSON lines,
// {"connectionStatus": ..., "runStatus": ..., "result": ...} each time what the hook returns
// changes, and exits once the run status is terminal (completed, failed or cancelled), as the
// hook's autoCloseOnTerminal closes the stream then.
//
// Env: TOKEN (JSON {channel, topics, key, apiBaseUrl} from get_subscription_token()).
// Node 20 needs `node --experimental-websocket`.
import { createElement } from "react";
import TestRenderer from "react-test-renderer";
import { useRealtime } from "inngest/react";

globalThis.IS_REACT_ACT_ENVIRONMENT = false;
const out = (value) => console.log(JSON.stringify(value));
process.on("uncaughtException", (err) => out({ uncaught: String(err?.stack ?? err) }));
process.on("unhandledRejection", (err) => out({ uncaught: String(err?.stack ?? err) }));
// react-test-renderer 19 warns that it is deprecated: keep stderr for real errors.
const warn = console.error;
console.error = (...args) => {
  if (!String(args[0]).includes("react-test-renderer is deprecated")) warn(...args);
};

const token = JSON.parse(process.env.TOKEN);
const terminal = new Set(["completed", "failed", "cancelled"]);
let last = "";

function Watcher() {
  const { connectionStatus, runStatus, result, error } = useRealtime({
    token,
    reconnect: false,
    pauseOnHidden: false,
  });
  const seen = JSON.stringify({
    connectionStatus,
    runStatus,
    result: result ?? null,
    error: error ? String(error.message ?? error) : null,
  });
  if (seen !== last) {
    last = seen;
    console.log(seen);
    if (terminal.has(runStatus)) setTimeout(() => process.exit(0), 50);
  }
  return null;
}

TestRenderer.create(createElement(Watcher));
