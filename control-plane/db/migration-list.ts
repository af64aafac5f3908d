import { Migration20261123145133Initial } from './migrations/Migration20261123145133Initial.js';
import { Migration20261123150145DeployTokens } from './migrations/Migration20261123150145DeployTokens.js';
import { Migration20261123151129AgentLink } from './migrations/Migration20261123151129AgentLink.js';
import { Migration20261123170657EnvironmentsResources } from './migrations/Migration20261123170657EnvironmentsResources.js';
import { Migration20261123172235Deployments } from './migrations/Migration20261123172235Deployments.js';
import { Migration20261123180827DesiredState } from './migrations/Migration20261123180827DesiredState.js';
import { Migration20261123184412SshCredentials } from './migrations/Migration20261123184412SshCredentials.js';
import { Migration20261123184432DefaultAccessPolicies } from './migrations/Migration20261123184432DefaultAccessPolicies.js';
import { Migration20261206224303ServerWorkloadRoles } from './migrations/Migration20261206224303ServerWorkloadRoles.js';
import { Migration20261206224313FirstAdminIdempotencyKey } from './migrations/Migration20261206224313FirstAdminIdempotencyKey.js';
import { Migration20261207050000EdgeProxy } from './migrations/Migration20261207050000EdgeProxy.js';
import { Migration20261207061500DomainsCertificates } from './migrations/Migration20261207061500DomainsCertificates.js';
import { Migration20261207160000DeploymentPublicUrl } from './migrations/Migration20261207160000DeploymentPublicUrl.js';
import { Migration20261207201609MonitoringSamples } from './migrations/Migration20261207201609MonitoringSamples.js';
import { Migration20261207231124CapacityPrunePolicies } from './migrations/Migration20261207231124CapacityPrunePolicies.js';
import { Migration20261207232141RuntimeLogs } from './migrations/Migration20261207232141RuntimeLogs.js';
import { Migration20261207233333HealthObservations } from './migrations/Migration20261207233333HealthObservations.js';
import { Migration20261207234530TerminalSessions } from './migrations/Migration20261207234530TerminalSessions.js';

/**
 * Every migration in order of application. `scripts/new-migration.ts` writes a new file from the entity diff; add it
 * at the end here. A migration that has shipped is never edited.
 */
export const migrations = [
  { name: 'Migration20261123145133Initial', class: Migration20261123145133Initial },
  { name: 'Migration20261123150145DeployTokens', class: Migration20261123150145DeployTokens },
  { name: 'Migration20261123151129AgentLink', class: Migration20261123151129AgentLink },
  { name: 'Migration20261123170657EnvironmentsResources', class: Migration20261123170657EnvironmentsResources },
  { name: 'Migration20261123172235Deployments', class: Migration20261123172235Deployments },
  { name: 'Migration20261123180827DesiredState', class: Migration20261123180827DesiredState },
  { name: 'Migration20261123184412SshCredentials', class: Migration20261123184412SshCredentials },
  { name: 'Migration20261123184432DefaultAccessPolicies', class: Migration20261123184432DefaultAccessPolicies },
  { name: 'Migration20261206224303ServerWorkloadRoles', class: Migration20261206224303ServerWorkloadRoles },
  { name: 'Migration20261206224313FirstAdminIdempotencyKey', class: Migration20261206224313FirstAdminIdempotencyKey },
  { name: 'Migration20261207050000EdgeProxy', class: Migration20261207050000EdgeProxy },
  { name: 'Migration20261207061500DomainsCertificates', class: Migration20261207061500DomainsCertificates },
  { name: 'Migration20261207160000DeploymentPublicUrl', class: Migration20261207160000DeploymentPublicUrl },
  { name: 'Migration20261207201609MonitoringSamples', class: Migration20261207201609MonitoringSamples },
  { name: 'Migration20261207231124CapacityPrunePolicies', class: Migration20261207231124CapacityPrunePolicies },
  { name: 'Migration20261207232141RuntimeLogs', class: Migration20261207232141RuntimeLogs },
  { name: 'Migration20261207233333HealthObservations', class: Migration20261207233333HealthObservations },
  { name: 'Migration20261207234530TerminalSessions', class: Migration20261207234530TerminalSessions },
];
