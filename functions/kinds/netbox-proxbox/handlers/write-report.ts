import { z } from 'zod';
import { lambdaHandler } from '../../../middleware/middleware';
import { logger } from '../../../runtime/logger';
import { writeReport, type AuditPart } from '../audit';
import { auditContext, executionName, targetName } from './clients';

const READ_PARTS: readonly AuditPart[] = ['virtual-machines', 'vm-links', 'backup-routines', 'replications', 'backups'];

/** WriteReport: the report as JSON and Markdown under <prefix><target>/audit/, then this execution's intermediate objects removed. */
export const handler = lambdaHandler(z.object({ target: targetName, executionName, computed: z.object({ key: z.string().min(1) }) }), async (event) => {
  const { config, target, store, keyOf } = await auditContext(event.target, event.executionName);
  const written = await writeReport(store, {
    prefix: config.archive.prefix,
    target: target.name,
    computedKey: event.computed.key,
    workKeys: READ_PARTS.map(keyOf),
    baseUrl: target.baseUrl,
  });
  logger.info('audit report written', { reportKey: written.reportKey, markdownKey: written.markdownKey });
  return written;
});
