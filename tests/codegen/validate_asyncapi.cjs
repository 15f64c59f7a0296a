// validate_asyncapi: parses an AsyncAPI document with @asyncapi/parser and its protobuf
// schema parser; prints every diagnostic of severity error (0) or warning (1), and on
// success a JSON summary {channels: {address: [message names]}, payloads: {name: title}}.
//   node validate_asyncapi.cjs FILE     (NODE_PATH holds the two packages)
const fs = require('fs');
const { Parser } = require('@asyncapi/parser');
const { ProtoBuffSchemaParser } = require('@asyncapi/protobuf-schema-parser');

(async () => {
  const parser = new Parser();
  parser.registerSchemaParser(ProtoBuffSchemaParser());
  const { document, diagnostics } = await parser.parse(fs.readFileSync(process.argv[2], 'utf8'));
  let bad = 0;
  for (const d of diagnostics) {
    if (d.severity <= 1) {
      bad++;
      console.error(`${d.severity === 0 ? 'error' : 'warning'} ${d.code} at ${d.path.join('.')}: ${d.message}`);
    }
  }
  if (!document || bad) process.exit(1);
  const summary = { channels: {}, payloads: {}, headers: {} };
  for (const ch of document.channels()) {
    summary.channels[ch.address()] = ch.messages().all().map((m) => m.name());
  }
  for (const m of document.components().messages().all()) {
    const p = m.payload();
    summary.payloads[m.name()] = p ? (p.title() || p.type()) : null;
    summary.headers[m.name()] = m.headers() ? Object.keys(m.headers().properties() || {}) : [];
  }
  console.log(JSON.stringify(summary));
})().catch((e) => { console.error(e.stack || String(e)); process.exit(1); });
