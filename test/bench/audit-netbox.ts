// Child process: the NetBox + Proxbox simulator serving the audit benchmark's estate, in a
// process of its own so that the audit's measured memory is the audit's alone.
import { largeEstate } from '../../bin/sandbox/netbox-proxbox/estate';
import { startNetboxProxboxSimulator } from '../../bin/sandbox/netbox-proxbox';
import { receiveJob, reply } from './bench-child';

export interface AuditNetboxJob {
  readonly vmCount: number;
  readonly routineCount: number;
}
export interface AuditNetboxReady {
  readonly type: 'ready';
  readonly url: string;
  readonly token: string;
  readonly inScope: number;
  readonly uncovered: number;
}

async function main(): Promise<void> {
  const job = await receiveJob<AuditNetboxJob>();
  const { estate, inScope, uncovered } = largeEstate(job.vmCount, job.routineCount);
  const simulator = await startNetboxProxboxSimulator({ estate });
  await reply({ type: 'ready', url: simulator.url, token: simulator.token, inScope, uncovered: uncovered.length } satisfies AuditNetboxReady);
}

void main();
