// Validate an OpenAPI document with @apidevtools/swagger-parser (installed
// by the Makefile into build/npm).  Exit 0 when valid; the error otherwise.
"use strict";
const path = require("path");
const root = path.resolve(__dirname, "../..");
const parser = require(path.join(root,
    "build/npm/node_modules/@apidevtools/swagger-parser"));

const file = process.argv[2] || path.join(root, "build/openapi.json");
parser.validate(file).then((api) => {
	const n = Object.keys(api.paths || {}).length;
	console.log(`valid OpenAPI ${api.openapi}: ${n} paths`);
}).catch((err) => {
	console.error(`invalid: ${err.message}`);
	process.exit(1);
});
