#!/usr/bin/env node
// The pack's documented entry point (`node tools/rollback/rollback-manager.js rollback 1.4 --verbose`):
// it runs the same built CLI as `npx rollback-manager`.
import '../../dist/bundle/main.mjs';
