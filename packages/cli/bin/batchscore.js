#!/usr/bin/env node
// The AWS SDK warns on Node < 22 about its own future releases; batchscore pins the SDK, so the warning is
// noise on every command. A user who sets the variable keeps their choice.
process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED ??= 'true';
await import('../dist/main.js');
