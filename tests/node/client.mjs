// One of Inngest's official realtime clients subscribing to a Django server; it prints what
// happens as JSON lines: {"ready": true} when subscribe() resolves, {"error": "..."} when it
// rejects, each message, {"end": true} when the stream ends, {"uncaught": "..."} for an
// error the client let escape (without the handler below, Node exits on it: see
// docs/inngest-compatibility.md, "Streams").
//
// Env:
//   CLIENT            "v4" (inngest@4's `inngest/realtime`) or "0.4" (@inngest/realtime 0.4.7)
//   TOKEN             JSON {channel, topics, key, apiBaseUrl} from get_subscription_token(), or
//   MINT              JSON {channel, topics}: mint the token with v4's getSubscriptionToken()
//                     through an Inngest client whose baseUrl is INNGEST_BASE_URL (signing key
//                     from INNGEST_SIGNING_KEY / INNGEST_SIGNING_KEY_FALLBACK)
//   COUNT             messages to print before exiting (0: exit once subscribed)
//   INNGEST_BASE_URL  the Django server (0.4.7 connects there: it ignores the token's apiBaseUrl)
// Node 20 needs `node --experimental-websocket`.
import { Inngest } from "inngest";
import * as v4 from "inngest/realtime";
import * as legacy from "@inngest/realtime";

const out = (value) => console.log(JSON.stringify(value));
// Exit on the next turn of the event loop, after errors the client queued meanwhile.
const exit = () => setImmediate(() => process.exit(0));
process.on("uncaughtException", (err) => out({ uncaught: String(err?.stack ?? err) }));
process.on("unhandledRejection", (err) => out({ uncaught: String(err?.stack ?? err) }));

const client = process.env.CLIENT;
const count = Number(process.env.COUNT ?? "0");
let token;
if (process.env.MINT) {
  const args = JSON.parse(process.env.MINT);
  const app = new Inngest({ id: "node-tests", baseUrl: process.env.INNGEST_BASE_URL });
  try {
    token = await v4.getSubscriptionToken(app, args);
  } catch (err) {
    out({ mintError: String(err?.message ?? err) });
    process.exit(0);
  }
  out({ minted: { channel: token.channel, topics: token.topics, apiBaseUrl: token.apiBaseUrl } });
} else {
  token = JSON.parse(process.env.TOKEN);
}

let stream;
try {
  stream =
    client === "v4"
      ? await v4.subscribe({ channel: token.channel, topics: token.topics, key: token.key,
                             apiBaseUrl: token.apiBaseUrl })
      : await legacy.subscribe({ channel: token.channel, topics: token.topics, key: token.key });
} catch (err) {
  // A WebSocket error event (0.4.7, v4) or an Error (v4: closed before opening).
  out({ error: err?.message ?? err?.type ?? String(err) });
  process.exit(0);
}
out({ ready: true });
if (count === 0) process.exit(0);
let seen = 0;
for await (const message of stream) {
  out({
    kind: message.kind, channel: message.channel, topic: message.topic, data: message.data,
    runId: message.runId ?? null, fnId: message.fnId ?? null,
    createdAt: message.createdAt instanceof Date,
  });
  if (++seen >= count) break;
}
if (seen < count) out({ end: true });
exit();
