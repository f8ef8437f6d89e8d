// Subscribe with Inngest's official client to a Django server and print what arrives.
// Env: TOKEN (JSON from get_subscription_token), COUNT (messages to wait for),
// INNGEST_BASE_URL (the Django server). Needs `node --experimental-websocket` on Node 20.
import { channel, subscribe, topic } from "@inngest/realtime";
import { z } from "zod";

const token = JSON.parse(process.env.TOKEN);
const count = Number(process.env.COUNT);
const typed = channel(token.channel)
  .addTopic(topic("logs").type())
  .addTopic(topic("votes").schema(z.object({ id: z.string(), likes: z.number() })));

const stream = await subscribe({ channel: typed(), topics: token.topics, key: token.key });
console.log(JSON.stringify({ ready: true }));
let seen = 0;
for await (const message of stream) {
  console.log(JSON.stringify({
    kind: message.kind, channel: message.channel, topic: message.topic, data: message.data,
    runId: message.runId ?? null, createdAt: message.createdAt instanceof Date,
  }));
  if (++seen >= count) break;
}
process.exit(0);
