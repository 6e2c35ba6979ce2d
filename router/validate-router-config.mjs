#!/usr/bin/env node
// Validates router/router.yaml against an Apollo Router configuration JSON schema, the way the
// router reads it: `${env.NAME:-default}` expanded first (a variable without a default and not
// set gets a placeholder), then YAML, then the schema.
//
//   node validate-router-config.mjs SCHEMA.json [router.yaml]
//   node validate-router-config.mjs --json [router.yaml]     (prints the expanded config as JSON)
//
// Exit status: 0 valid, 1 invalid (errors printed), 2 bad usage. The schema is not part of this
// project (Apollo publishes it per router version: `router config schema`).
import { readFileSync } from 'node:fs';
import Ajv from 'ajv';
import { parse } from 'yaml';

const [schemaPath, configPath = new URL('./router.yaml', import.meta.url).pathname] = process.argv.slice(2);
if (!schemaPath || schemaPath.startsWith('-') && schemaPath !== '--json') {
  process.stderr.write('usage: node validate-router-config.mjs SCHEMA.json [router.yaml]\n');
  process.exit(2);
}

function expand(text) {
  return text.replace(/\$\{env\.([A-Za-z_][A-Za-z0-9_]*)(?::-([^}]*))?\}/g, (_match, name, fallback) => {
    if (process.env[name] !== undefined) return process.env[name];
    if (fallback !== undefined) return fallback;
    return `placeholder-for-${name}`;
  });
}

const unexpanded = /\$\{(?!env\.)[^}]*\}/.exec(readFileSync(configPath, 'utf8'));
if (unexpanded) {
  process.stderr.write(`${configPath}: only \${env.NAME} expansion is used here, found ${unexpanded[0]}\n`);
  process.exit(1);
}
const config = parse(expand(readFileSync(configPath, 'utf8')));
if (schemaPath === '--json') {
  process.stdout.write(`${JSON.stringify(config)}\n`);
  process.exit(0);
}
const schema = JSON.parse(readFileSync(schemaPath, 'utf8'));
// The router's schema uses Rust number formats (uint, int64, ...) that JSON Schema does not define.
const ajv = new Ajv({ allErrors: true, strict: false, validateFormats: false });
const validate = ajv.compile(schema);
if (validate(config)) {
  process.stdout.write(`${configPath} is valid against ${schemaPath}\n`);
  process.exit(0);
}
for (const error of validate.errors) {
  process.stderr.write(`${error.instancePath || '/'} ${error.message} ${JSON.stringify(error.params)}\n`);
}
process.exit(1);
