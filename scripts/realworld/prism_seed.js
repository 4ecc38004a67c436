// Loaded into Prism with NODE_OPTIONS=--require: makes Prism's dynamic examples reproducible AND varied.
//
// Prism's own --seed re-seeds json-schema-faker before every response, so every answer of an operation is
// byte-identical (the recorder would see one value per field). Instead, this replaces Math.random, which
// json-schema-faker and faker read, with one seeded stream for the whole process (mulberry32, written
// here): the same requests in the same order get the same answers, and answers differ from each other.
'use strict';

const text = String(process.env.PRISM_RANDOM_SEED || '1');
let state = 0x9e3779b9;
for (let i = 0; i < text.length; i++) {
  state = Math.imul(state ^ text.charCodeAt(i), 0x85ebca6b);
  state = (state << 13) | (state >>> 19);
}
state >>>= 0;

Math.random = function seededRandom() {
  state = (state + 0x6d2b79f5) >>> 0;
  let t = state;
  t = Math.imul(t ^ (t >>> 15), t | 1);
  t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
  return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
};

// json-schema-faker 0.5.x (Prism 5.14.2's) throws "Cannot read properties of undefined (reading 'items')" in
// its clean-up pass when an array whose schema has no direct `items` (an `anyOf` of arrays, say) holds an
// object with an empty object in it: Prism then answers 500 to a request its spec documents, at random
// (Stripe's customers). The pass is patched as it loads: where no schema is known, nothing is cleaned away.
const Module = require('module');
const path = require('path');
const JSF_MAIN = path.join('json-schema-faker', 'dist', 'main.cjs');
const JSF_BUG = 'function shouldClean(key, schema) {\n  schema = schema.items || schema;';
const JSF_FIX = 'function shouldClean(key, schema) {\n  if (!schema) return false;\n  schema = schema.items || schema;';
const compile = Module.prototype._compile;
Module.prototype._compile = function compileWithFix(content, filename) {
  if (filename.endsWith(JSF_MAIN)) {
    if (!content.includes(JSF_BUG)) {
      throw new Error(`prism_seed.js: ${filename} changed; the clean-up fix no longer applies`);
    }
    content = content.replace(JSF_BUG, JSF_FIX);
  }
  return compile.call(this, content, filename);
};
