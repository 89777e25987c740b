// Where a command's lifecycle runs: in this process (the default), or in the deployed
// stack (`--remote`, bin/remote/remote-runner.ts). The commands print the same either way.
import type { LifecycleSpec } from '../../functions/catalog';
import { runLifecycle, type JsonValue, type LifecycleEvent, type LifecycleOutcome } from '../local/local-runner';

export interface LifecycleRunRequest {
  /** A kind's lifecycle, or another machine the stack outputs as `<id>StateMachineArn` (a drill). */
  readonly lifecycle: Pick<LifecycleSpec, 'id' | 'definitionFile'> & { readonly purpose: string };
  readonly input: JsonValue;
  /** The target the run is for: remote executions carry it in their name. */
  readonly targetName: string;
  readonly onEvent: (event: LifecycleEvent) => void;
}

export interface LifecycleRunner {
  /** Remote runs follow an execution elsewhere: no in-process transfer to cancel, Ctrl-C handled by the runner. */
  readonly where: 'local' | 'remote';
  run(request: LifecycleRunRequest): Promise<LifecycleOutcome>;
}

export const LOCAL_RUNNER: LifecycleRunner = {
  where: 'local',
  run: ({ lifecycle, input, onEvent }) => runLifecycle({ lifecycle, input, onEvent }),
};
