// Follow a Portico account's invoice changes, resuming where the last run stopped.
//   PORTICO_URL=wss://portico.example.com/graphql PORTICO_TOKEN=ptk_... node subscribe.mjs
import { existsSync, readFileSync, writeFileSync } from "node:fs";
import { createClient } from "graphql-ws";
import WebSocket from "ws";

const CURSOR_FILE = process.env.CURSOR_FILE ?? "cursor.txt";
let after = existsSync(CURSOR_FILE) ? readFileSync(CURSOR_FILE, "utf8").trim() : null;

const client = createClient({
  url: process.env.PORTICO_URL,
  webSocketImpl: WebSocket,
  connectionParams: { Authorization: `Bearer ${process.env.PORTICO_TOKEN}` },
  retryAttempts: 0, // reconnects resubscribe below, with the latest cursor
});

function follow() {
  client.subscribe(
    {
      query: `subscription ($after: String) {
        invoiceChanged(after: $after) {
          cursor kind occurredAt
          invoice { id number status total balance client { name } }
        }
      }`,
      variables: { after },
    },
    {
      next: ({ data, errors }) => {
        if (errors) return console.error(JSON.stringify(errors));
        const event = data.invoiceChanged;
        console.log(JSON.stringify(event)); // handle it, then remember where you are
        after = event.cursor;
        writeFileSync(CURSOR_FILE, after);
      },
      error: (error) => {
        console.error("subscription error", error?.code ?? error);
        setTimeout(follow, 1000); // the socket dropped: resume after the last cursor
      },
      complete: () => setTimeout(follow, 1000), // ended (e.g. access changed): open again
    },
  );
}
follow();
