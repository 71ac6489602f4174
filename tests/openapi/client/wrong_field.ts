// Must NOT type-check: the openapi.client test compiles it and expects tsc to
// refuse both misspelt names below, which proves that the generated types, not
// `any`, stand behind client.ts.
import createClient from "openapi-fetch";
import type { Body, paths } from "./api.js";

const pbd = createClient<paths>({ baseUrl: "http://127.0.0.1:1" });
const body: Body<"keys.create"> = { owner: "x", permisions: ["read"] };
const created = await pbd.POST("/v1/keys", { body });
console.log(created.data?.secret_key);
