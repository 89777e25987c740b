import '../../functions/runtime/node-compat';
