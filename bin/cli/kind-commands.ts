// What the command line does differently for a kind: `list` and `prune` for a kind whose
// backups are not archived copies (the provider holds them), the report of a kind that
// audits. A kind's definition names the file of its hooks (`cli`); kinds without use the
// archive's behaviour. This runs on the laptop only, so those files may import a kind's
// domain code and clients (the kind definitions must not).
import { join } from 'node:path';
import type { TargetConfig } from '../../functions/config/schema';
import type { KindCommands } from '../../functions/kinds/kind';
import { kindOf } from '../../functions/kinds/registry';
import { REPO_ROOT } from '../local/repo-root';

export type { AuditPresentation, KindCommands } from '../../functions/kinds/kind';

/** The module of a definition's `cli` file (relative to the repository root). */
export function kindCommandsModule(file: string): unknown {
  // require, not import(): it loads TypeScript under the CLI's tsx hook and jest alike.
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  return require(join(REPO_ROOT, file)) as unknown;
}

/** The target's kind's command-line hooks (none for a kind whose definition names no `cli` file). */
export function kindCommandsOf<T extends TargetConfig>(target: T): KindCommands<T> {
  const file = (kindOf(target) as { readonly cli?: string }).cli;
  if (file === undefined) return {};
  const module = kindCommandsModule(file) as { kindCommands?: KindCommands<T> };
  if (module.kindCommands === undefined) throw new Error(`${file} (the cli of ${target.kind} targets) exports no kindCommands`);
  return module.kindCommands;
}
