import { timestampDate } from '@bufbuild/protobuf/wkt';
import type { EntityManager } from '@mikro-orm/postgresql';
import type { RuntimeLogLine as WireLine } from '../../../shared/gen/berth/agent/v1/agent_pb.js';
import type { Logger } from '../../../shared/logger.js';
import { knexOf } from '../../db/knex.js';
import type { KeyRing } from '../../secrets/key-ring.js';
import { Deployment } from '../deployments/entity.js';
import { deploymentSecretValues, maskSecrets } from '../deployments/secret-values.js';

/** NOTIFY channel of stored lines; the payload is the resource id. */
export const runtimeLogsChannel = 'berth_runtime_logs';

/** What a deployment's lines need: its organization, and its secret values to mask. */
interface DeploymentFacts {
  organizationId: string;
  serverId: string;
  resourceId: string;
  secrets: string[];
}

/** Deployments whose facts are kept (a deployment's snapshot never changes, so neither do they). */
const cachedDeployments = 500;

const columns = [
  'organization_id',
  'server_id',
  'resource_id',
  'deployment_id',
  'service_name',
  'container_id',
  'stream',
  'observed_at',
  'received_at',
  'sequence',
  'message',
  'masked',
] as const;

/**
 * Stores the runtime log lines of a batch inside the batch's transaction: each line attributed to its deployment
 * (which must be one of that server's: an agent cannot write into another server's logs), secret values of that
 * deployment masked before anything is written, then one NOTIFY per resource so live streams wake up.
 */
export function createLogLineStore(deps: { keyRing: Pick<KeyRing, 'open'>; log: Logger }) {
  const facts = new Map<string, DeploymentFacts | null>();

  async function factsOf(em: EntityManager, deploymentId: string): Promise<DeploymentFacts | null> {
    if (facts.has(deploymentId)) return facts.get(deploymentId) ?? null;
    const deployment = await em.findOne(Deployment, deploymentId);
    const found =
      deployment === null
        ? null
        : {
            organizationId: deployment.organization.id,
            serverId: deployment.server.id,
            resourceId: deployment.resource.id,
            secrets: deploymentSecretValues(deps.keyRing, deployment),
          };
    if (facts.size >= cachedDeployments) facts.delete(facts.keys().next().value as string);
    facts.set(deploymentId, found);
    return found;
  }

  return async function storeLogLines(
    tx: EntityManager,
    serverId: string,
    lines: readonly WireLine[],
    receivedAt: Date,
  ): Promise<void> {
    const rows: Array<Record<(typeof columns)[number], unknown>> = [];
    let refused = 0;
    for (const line of lines) {
      const known = line.deploymentId === '' ? null : await factsOf(tx, line.deploymentId);
      if (known === null || known.serverId !== serverId || !line.observedAt) {
        refused += 1;
        continue;
      }
      const { message, masked } = maskSecrets(line.message, known.secrets);
      rows.push({
        organization_id: known.organizationId,
        server_id: serverId,
        resource_id: known.resourceId,
        deployment_id: line.deploymentId,
        service_name: line.serviceName || 'web',
        container_id: line.containerId,
        stream: line.stream === 'stderr' ? 'stderr' : 'stdout',
        observed_at: timestampDate(line.observedAt).toISOString(),
        received_at: receivedAt.toISOString(),
        sequence: Number(line.sequence),
        message,
        masked,
      });
    }
    if (refused > 0) {
      deps.log.warn({ serverId, refused }, "ignored runtime log lines of deployments that are not this server's");
    }
    if (rows.length === 0) return;
    const knex = knexOf(tx);
    const names = columns.map((name) => `"${name}"`).join(', ');
    await knex.raw(
      `insert into "runtime_log_lines" (${names}) select ${names} from json_populate_recordset(null::"runtime_log_lines", ?::json)`,
      [JSON.stringify(rows)],
    );
    for (const resourceId of new Set(rows.map((r) => r.resource_id as string))) {
      await knex.raw('select pg_notify(?, ?)', [runtimeLogsChannel, resourceId]);
    }
  };
}
