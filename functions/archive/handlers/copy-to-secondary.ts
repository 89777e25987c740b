import { z } from 'zod';
import { findTarget } from '../../config/load';
import { lambdaHandler } from '../../middleware/middleware';
import { loadRuntimeConfig } from '../../runtime/config-source';
import { logger } from '../../runtime/logger';
import { MetricUnit, publishMetrics } from '../../runtime/metrics';
import { copyCancellationSignal } from '../../runtime/progress';
import { systemClock } from '../../shared/clock';
import { primaryPlace, secondaryPlace } from '../places';
import { secondaryCopyStep } from '../secondary-copy';

const input = z.object({
  target: z.string().min(1, 'expected the name of a configured target'),
  // What CopyToArchive returned: the copy it archived and verified.
  archive: z.looseObject({
    objectKey: z.string().min(1, 'expected the archived copy\'s object key (the CopyToArchive result)'),
    sha256: z.string().regex(/^[0-9a-f]{64}$/, 'expected the archived copy\'s hex SHA-256 (the CopyToArchive result)'),
  }),
});

/** CopyToSecondary: the copy just archived, streamed into the secondary and verified there; skipped without a secondary. */
export const handler = lambdaHandler(input, async (event) => {
  const config = await loadRuntimeConfig();
  const target = findTarget(config, event.target);
  const started = Date.now();
  const signal = copyCancellationSignal();
  const result = await secondaryCopyStep(primaryPlace(config), await secondaryPlace(config), target.name, event.archive, systemClock, signal ? { signal } : {});
  if (result.secondary === null) {
    logger.info('no second copy', { target: target.name, reason: result.reason });
    return result;
  }
  const seconds = Math.max(0.001, (Date.now() - started) / 1000);
  logger.info(result.secondary.alreadyThere ? 'second copy already there' : 'second copy made and verified', { ...result.secondary, seconds });
  if (!result.secondary.alreadyThere) {
    publishMetrics({ Job: 'secondary-copy' }, [
      { name: 'SecondaryCopyBytes', unit: MetricUnit.Bytes, value: result.secondary.sizeBytes },
      { name: 'SecondaryCopyThroughput', unit: MetricUnit.BytesPerSecond, value: result.secondary.sizeBytes / seconds },
    ]);
  }
  return result;
});
