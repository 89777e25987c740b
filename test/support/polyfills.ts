import '../../functions/runtime/node-compat';

// Handlers run in-process in the tests; their structured logs would bury jest's report.
process.env.POWERTOOLS_LOG_LEVEL ??= 'SILENT';
process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED ??= 'true';
