#!/usr/bin/env node
'use strict';
// A helper process that `berth serve` forks when http.workers > 1; not a command of its own.
require('../dist/processes/helper-main.js');
