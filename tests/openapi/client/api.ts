// Names for parts of the types openapi-typescript generated (./pbd-api.d.ts);
// nothing here describes the API by hand. openapi-fetch does not check the
// members of a body written inline in a call (a misspelt one goes through), so
// the client declares each body with its operation's generated type first,
// where tsc refuses any member the document does not have.
import type { operations } from "./pbd-api.js";

export type { components, paths } from "./pbd-api.js";

// The JSON request body of an operation (by its operationId, pb's op name).
export type Body<Op extends keyof operations> = operations[Op] extends {
    requestBody: { content: { "application/json": infer B } };
}
    ? B
    : never;

// The query parameters of an operation.
export type Query<Op extends keyof operations> = NonNullable<operations[Op]["parameters"]["query"]>;
