// One function's runtime in the rehearsal: a Node process started with exactly the
// environment Lambda would give it, in its bundle's directory, loading the handler the
// template names (_HANDLER) the way Lambda's Node.js runtime does. Plain CommonJS run by
// plain node: nothing from the repository is on its module path, so a module the bundle
// left out fails here as it would in Lambda. Events arrive over IPC, one at a time.
'use strict';
const path = require('node:path');
const { randomUUID } = require('node:crypto');

const taskRoot = process.env.LAMBDA_TASK_ROOT;
const handlerName = process.env._HANDLER || '';
const dot = handlerName.lastIndexOf('.');
let handler;
let initError;
try {
  if (dot < 1) throw Object.assign(new Error(`Bad handler ${handlerName}: expected <module>.<export>`), { name: 'Runtime.MalformedHandlerName' });
  const modulePath = path.join(taskRoot, handlerName.slice(0, dot));
  let loaded;
  try {
    loaded = require(modulePath);
  } catch (error) {
    if (error && error.code === 'MODULE_NOT_FOUND') throw Object.assign(new Error(`Error: ${error.message}`), { name: 'Runtime.ImportModuleError' });
    throw error;
  }
  handler = handlerName
    .slice(dot + 1)
    .split('.')
    .reduce((value, name) => (value == null ? undefined : value[name]), loaded);
  if (typeof handler !== 'function') throw Object.assign(new Error(`${handlerName} is undefined or not exported`), { name: 'Runtime.HandlerNotFound' });
} catch (error) {
  initError = error;
}

function describe(error) {
  if (error instanceof Error) return { errorType: error.name || 'Error', errorMessage: error.message, trace: String(error.stack || '').split('\n') };
  return { errorType: 'Error', errorMessage: String(error), trace: [] };
}

process.on('message', async (message) => {
  const { id, event, timeoutMs } = message;
  if (initError) {
    process.send({ id, error: describe(initError) });
    return;
  }
  const deadline = Date.now() + timeoutMs;
  const requestId = randomUUID();
  process.env._X_AMZN_TRACE_ID = `Root=1-${Math.floor(Date.now() / 1000).toString(16)}-${randomUUID().replace(/-/g, '').slice(0, 24)};Parent=${randomUUID().replace(/-/g, '').slice(0, 16)};Sampled=1`;
  const context = {
    callbackWaitsForEmptyEventLoop: true,
    functionName: process.env.AWS_LAMBDA_FUNCTION_NAME,
    functionVersion: process.env.AWS_LAMBDA_FUNCTION_VERSION,
    invokedFunctionArn: message.functionArn,
    memoryLimitInMB: process.env.AWS_LAMBDA_FUNCTION_MEMORY_SIZE,
    awsRequestId: requestId,
    logGroupName: process.env.AWS_LAMBDA_LOG_GROUP_NAME,
    logStreamName: process.env.AWS_LAMBDA_LOG_STREAM_NAME,
    getRemainingTimeInMillis: () => Math.max(0, deadline - Date.now()),
    done: () => undefined,
    fail: () => undefined,
    succeed: () => undefined,
  };
  try {
    const result = await handler(event, context);
    // Lambda returns the result as JSON: what does not survive JSON does not reach Step Functions.
    process.send({ id, result: JSON.stringify(result === undefined ? null : result) });
  } catch (error) {
    process.send({ id, error: describe(error) });
  }
});
process.on('unhandledRejection', (reason) => {
  process.send({ crash: describe(reason) });
  process.exit(128);
});
process.send({ ready: true });
