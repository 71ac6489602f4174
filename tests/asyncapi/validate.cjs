// Validates an AsyncAPI document with the AsyncAPI initiative's own parser
// (@asyncapi/parser: the specification's JSON Schema, then its Spectral
// ruleset: $refs resolve, operations name their channel's messages, message
// examples match their payload schemas, ...). Prints every diagnostic; exits
// 1 when one is an error or a warning, or when the document does not parse.
// usage: node validate.cjs DOCUMENT.json
const fs = require('fs');
const { Parser } = require('@asyncapi/parser');

const severity = ['error', 'warning', 'info', 'hint'];

(async () => {
  const text = fs.readFileSync(process.argv[2], 'utf8');
  const { document, diagnostics } = await new Parser().parse(text);
  let failed = document === undefined;
  for (const d of diagnostics) {
    const level = severity[d.severity] || String(d.severity);
    console.log(`${level} ${d.code} at /${(d.path || []).join('/')}: ${d.message}`);
    failed = failed || d.severity <= 1;
  }
  if (document !== undefined) {
    console.log(`parsed: ${document.operations().length} operations, ` +
                `${document.allMessages().length} messages`);
  }
  process.exit(failed ? 1 : 0);
})().catch((e) => {
  console.log(`failed: ${e.stack || e}`);
  process.exit(1);
});
