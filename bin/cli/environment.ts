// Imported first by the CLI, before any handler module creates its logger: the
// handlers' structured logs would drown the CLI's own output, so they stay silent
// unless --verbose (or the user's own POWERTOOLS_LOG_LEVEL) asks for them.
process.env.POWERTOOLS_LOG_LEVEL ??= process.argv.includes('--verbose') ? 'INFO' : 'SILENT';
process.env.POWERTOOLS_SERVICE_NAME ??= 'offsite';

export {};
