// Imported first by the CLI, before any handler module creates its logger: the
// handlers' structured logs would drown the CLI's own output, so they stay silent
// unless --verbose (or the user's own POWERTOOLS_LOG_LEVEL) asks for them.
process.env.POWERTOOLS_LOG_LEVEL ??= process.argv.includes('--verbose') ? 'INFO' : 'SILENT';
process.env.POWERTOOLS_SERVICE_NAME ??= 'offsite';


// The SDK warns once per process that its 2027 releases will need Node 22. Lambda runs
// Node 22; on a laptop with Node 20 the warning is noise in every command's output
// (the README says which Node versions are supported).
process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED ??= 'true';

export {};
