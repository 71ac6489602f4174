// A client of pbd written only against the types openapi-typescript generated
// from pbd's GET /openapi.json (./pbd-api.d.ts, named in ./api.ts), through
// openapi-fetch: no hand-written API type. `tsc --strict` checks every path, parameter, body
// field and answer field used here against the document, so a field the
// document does not have fails the test before anything runs.
//
// Then it runs against the real pbd named by PBD_URL, as the admin key in
// PBD_ADMIN_KEY: keys (create, verify, list following next_cursor, revoke,
// verify refused), tokens (issue, verify) and states (register, update with a
// transition, read back). Any unexpected answer exits 1, saying which step.

import createClient from "openapi-fetch";
import type { Body, components, paths, Query } from "./api.js";

// Node's process, the one thing used here that is not the API (no @types/node).
declare const process: { env: Record<string, string | undefined>; exitCode: number };

type ApiKey = components["schemas"]["ApiKey"];

const baseUrl = process.env["PBD_URL"] ?? "";
const adminKey = process.env["PBD_ADMIN_KEY"] ?? "";
const run = process.env["PBD_RUN_ID"] ?? "0";

const pbd = createClient<paths>({ baseUrl, headers: { Authorization: `Bearer ${adminKey}` } });

class StepFailed extends Error {}

function check(ok: boolean, step: string, detail: unknown): void {
    if (!ok) {
        throw new StepFailed(`${step}: ${JSON.stringify(detail)}`);
    }
    console.log(`ok    ${step}`);
}

async function keys(): Promise<void> {
    const owner = `ts-client-${run}`;
    const made: { id: string; key: string }[] = [];
    for (const name of ["a", "b", "c"]) {
        const body: Body<"keys.create"> = { owner, name, permissions: ["deploy:write"], expires: "1h" };
        const { data, error, response } = await pbd.POST("/v1/keys", { body });
        check(response.status === 201 && data !== undefined && data.key.startsWith(`pb_${data.id}_`),
            `POST /v1/keys creates key ${name}`, error ?? data);
        if (data !== undefined) {
            made.push({ id: data.id, key: data.key });
        }
    }
    const first = made[0]!;

    const verify: Body<"keys.verify"> = { key: first.key };
    const verified = await pbd.POST("/v1/keys/verify", { body: verify });
    const verdict = verified.data;
    check(verdict !== undefined && verdict.valid && verdict.owner === owner && verdict.id === first.id &&
            (verdict.permissions ?? []).includes("deploy:write"),
        "POST /v1/keys/verify: the new key is valid, with its owner and permission", verified.error ?? verdict);

    // Two to a page, so that three keys take two pages and a null cursor ends them.
    const listed: ApiKey[] = [];
    let cursor: string | null = null;
    let pages = 0;
    do {
        const query: Query<"keys.list"> = { owner, limit: 2 };
        if (cursor !== null) {
            query.cursor = cursor;
        }
        const page = await pbd.GET("/v1/keys", { params: { query } });
        check(page.data !== undefined && page.data.keys.length <= 2, `GET /v1/keys page ${pages + 1}`,
            page.error ?? page.data);
        if (page.data === undefined) {
            return;
        }
        listed.push(...page.data.keys);
        cursor = page.data.next_cursor;
        pages += 1;
    } while (cursor !== null && pages < 10);
    const ids = listed.map((k) => k.id).sort();
    check(pages === 2 && JSON.stringify(ids) === JSON.stringify(made.map((k) => k.id).sort()),
        "GET /v1/keys following next_cursor lists the three keys once each, in two pages", { pages, ids });

    const revoked = await pbd.POST("/v1/keys/{id}/revoke", { params: { path: { id: first.id } } });
    check(revoked.data !== undefined && revoked.data.status === "revoked" && revoked.data.revoked_at !== null,
        "POST /v1/keys/{id}/revoke", revoked.error ?? revoked.data);

    const refused = await pbd.POST("/v1/keys/verify", { body: verify });
    check(refused.data !== undefined && !refused.data.valid && refused.data.reason === "revoked",
        "POST /v1/keys/verify: the revoked key is refused, reason revoked", refused.error ?? refused.data);

    // The revoked key as a caller's credential: 401.
    const asRevoked = await pbd.GET("/v1/keys", {
        params: { query: { owner } },
        headers: { Authorization: `Bearer ${first.key}` },
    });
    check(asRevoked.response.status === 401 && asRevoked.data === undefined,
        "GET /v1/keys with the revoked key as credential: 401", asRevoked.response.status);
}

async function tokens(): Promise<void> {
    const sub = `user-ts-${run}`;
    const issue: Body<"tokens.issue"> = { sub, ttl: "5m" };
    const issued = await pbd.POST("/v1/tokens", { body: issue });
    check(issued.response.status === 201 && issued.data !== undefined && issued.data.token_type === "bearer" &&
            issued.data.expires_in === 300,
        "POST /v1/tokens issues a 5-minute token", issued.error ?? issued.data);
    if (issued.data === undefined) {
        return;
    }
    const token = issued.data.access_token;

    const checkToken: Body<"tokens.verify"> = { token };
    const verified = await pbd.POST("/v1/tokens/verify", { body: checkToken });
    const claims = verified.data?.claims;
    check(verified.data !== undefined && verified.data.valid && claims !== undefined && claims["sub"] === sub,
        "POST /v1/tokens/verify: valid, with its subject", verified.error ?? verified.data);

    // Another signature of the same length (base64url's last character keeps its padding bits 0).
    const changed: Body<"tokens.verify"> = { token: token.slice(0, -4) + (token.endsWith("AAAA") ? "gAAA" : "AAAA") };
    const tampered = await pbd.POST("/v1/tokens/verify", { body: changed });
    check(tampered.data !== undefined && !tampered.data.valid && tampered.data.reason === "bad_signature",
        "POST /v1/tokens/verify: a changed signature is refused", tampered.error ?? tampered.data);
}

async function states(): Promise<void> {
    const id = `ts.session.${run}`;
    const register: Body<"states.register"> = { id, type: "session", data: { user: "ts", step: 1 } };
    const registered = await pbd.POST("/v1/states", { body: register });
    check(registered.response.status === 201 && registered.data !== undefined && registered.data.version === 1 &&
            registered.data.status === "active",
        "POST /v1/states registers at version 1, active", registered.error ?? registered.data);

    const update: Body<"states.update"> = { data: { step: 2 }, if_version: 1, transition: "suspend" };
    const updated = await pbd.PATCH("/v1/states/{id}", { params: { path: { id } }, body: update });
    const state = updated.data;
    check(state !== undefined && state.version === 2 && state.status === "suspended" &&
            state.data["step"] === 2 && state.data["user"] === "ts",
        "PATCH /v1/states/{id}: data merged and suspended in one version", updated.error ?? state);

    const staleUpdate: Body<"states.update"> = { data: { step: 3 }, if_version: 1 };
    const stale = await pbd.PATCH("/v1/states/{id}", { params: { path: { id } }, body: staleUpdate });
    check(stale.response.status === 409 && stale.data === undefined,
        "PATCH /v1/states/{id} at a past version: 409", stale.response.status);

    const read = await pbd.GET("/v1/states/{id}", { params: { path: { id } } });
    check(read.data !== undefined && read.data.version === 2 && read.data.status === "suspended" &&
            read.data.data["step"] === 2,
        "GET /v1/states/{id} reads version 2 back", read.error ?? read.data);
}

try {
    await keys();
    await tokens();
    await states();
    console.log("the generated client worked");
} catch (e) {
    console.log(e instanceof StepFailed ? `FAILED: ${e.message}` : `FAILED: ${String(e)}`);
    process.exitCode = 1;
}
