#!/usr/bin/env node
'use strict';
// The `berth` command. The TypeScript sources build into ../dist (`npm run build` / `tsc -b`).
require('../dist/main.js');
