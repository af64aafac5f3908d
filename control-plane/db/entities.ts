import { DefaultAccessPolicy } from '../modules/access-policies/entity.js';
import { AgentCommand } from '../modules/agent-commands/entity.js';
import { PrunePolicy } from '../modules/capacity/entity.js';
import { Certificate } from '../modules/certificates/entity.js';
import { ConfigEntry } from '../modules/configuration/entity.js';
import { DeployToken } from '../modules/deploy-tokens/entity.js';
import { Deployment, DeploymentEvent, DeploymentLogLine } from '../modules/deployments/entity.js';
import { DomainBinding } from '../modules/domain-bindings/entity.js';
import { Environment } from '../modules/environments/entity.js';
import { Membership, Organization, User } from '../modules/identity/entity.js';
import { MonitoringSample, RetentionDefault, TelemetryCursor, ThresholdPolicy } from '../modules/monitoring/entity.js';
import { Project } from '../modules/projects/entity.js';
import { Resource } from '../modules/resources/entity.js';
import { HealthObservation, ServerDesiredState } from '../modules/runtime/entity.js';
import { RuntimeLogArchive, RuntimeLogLine } from '../modules/runtime-logs/entity.js';
import { AgentEnrollment, Server, SshCredential } from '../modules/servers/entity.js';
import { LoginFailure, Session } from '../modules/sessions/entity.js';
import { TerminalSession } from '../modules/terminals/entity.js';
import { CertificateAuthorityRecord } from '../pki/entity.js';

/** Every entity the ORM maps; a module adds its entities here when it is created. */
export const entities = [
  Organization,
  User,
  Membership,
  Session,
  LoginFailure,
  Project,
  Environment,
  Resource,
  ConfigEntry,
  Deployment,
  DeploymentEvent,
  DeploymentLogLine,
  DeployToken,
  Server,
  AgentEnrollment,
  SshCredential,
  DefaultAccessPolicy,
  AgentCommand,
  ServerDesiredState,
  CertificateAuthorityRecord,
  DomainBinding,
  Certificate,
  MonitoringSample,
  TelemetryCursor,
  RetentionDefault,
  ThresholdPolicy,
  PrunePolicy,
  RuntimeLogLine,
  RuntimeLogArchive,
  HealthObservation,
  TerminalSession,
];
