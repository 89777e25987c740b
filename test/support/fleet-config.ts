import type { OffsiteConfig } from '../../functions/config/schema';
import { testConfig } from './infra';

// A generated fleet, configured as a network team does: targets of the four kinds, each with
// its own Secrets Manager secret (named under offsite/<kind>/), some with restore drills,
// spread over four nightly expressions. test/infra/fleet-scale.test.ts synthesizes it.
export const EXPRESSIONS = ['cron(0 1 * * ? *)', 'cron(0 2 * * ? *)', 'cron(0 3 * * ? *)', 'cron(0 4 * * ? *)'];
export const DRILL_EXPRESSIONS = ['cron(0 12 ? * SAT *)', 'cron(0 12 ? * SUN *)'];
/** Every DRILL_EVERY-th target of a kind that restores rehearses its restore. */
const DRILL_EVERY = 20;
const LAB_APPLIANCES = ['ar-lab-0', 'ar-lab-1'];

function fleetTarget(index: number): Record<string, unknown> {
  const name = `t${String(index).padStart(4, '0')}`;
  // The kinds take turns; each kind's targets take turns over the expressions.
  const ofKind = Math.floor(index / 4);
  const schedule = EXPRESSIONS[ofKind % EXPRESSIONS.length];
  const drilled = ofKind % DRILL_EVERY === 0;
  const drillSchedule = DRILL_EXPRESSIONS[Math.floor(ofKind / DRILL_EVERY) % DRILL_EXPRESSIONS.length];
  switch (index % 4) {
    case 0:
      return {
        name: `nb-${name}`, kind: 'netbox-cloud', baseUrl: 'https://api.netboxlabs.com', orgId: 'org-123', instanceId: `nb-${name}`,
        credentials: { secret: `offsite/netbox-cloud/nb-${name}` }, schedule,
        ...(drilled ? { drill: { to: `nb-drill-${name}`, schedule: drillSchedule, checks: { restored: { baseUrl: `https://nb-drill-${name}.cloud.netboxapp.com`, credentials: { secret: `offsite/drill/nb-${name}` } } } } } : {}),
      };
    case 1:
      return {
        name: `ar-${name}`, kind: 'appliance', baseUrl: `https://${name}.appliances.example.net`,
        auth: { method: 'token', username: 'offsite-backup', password: { secret: `offsite/appliance/ar-${name}` } },
        tls: { ca: { secret: `offsite/appliance/ar-${name}-ca` } }, schedule,
        ...(drilled ? { drill: { to: LAB_APPLIANCES[index % LAB_APPLIANCES.length], schedule: drillSchedule } } : {}),
      };
    case 2:
      return {
        name: `vps-${name}`, kind: 'vps', baseUrl: 'https://admin.vps.example', serverId: 10_000 + index,
        // A drilled server's token is also what the drill's checks use (vps/drill/: the drill may read it).
        credentials: { secret: drilled ? `offsite/vps/drill/vps-${name}` : `offsite/vps/vps-${name}` }, schedule,
        ...(drilled ? { drill: { to: 90_000 + index, schedule: drillSchedule } } : {}),
      };
    default:
      return { name: `nbx-${name}`, kind: 'netbox-proxbox', baseUrl: `https://netbox-${name}.example.net`, credentials: { secret: `offsite/netbox-proxbox/nbx-${name}` }, schedule: 'cron(0 6 * * ? *)' };
  }
}

export function fleetConfig(count: number): OffsiteConfig {
  const labs = LAB_APPLIANCES.map((name) => ({
    name, kind: 'appliance', baseUrl: `https://${name}.lab.example.net`, auth: { method: 'token', username: 'offsite-drill', password: { secret: `offsite/appliance/drill/${name}` } },
  }));
  return testConfig({ targets: [...Array.from({ length: count - labs.length }, (_, index) => fleetTarget(index)), ...labs] });
}

