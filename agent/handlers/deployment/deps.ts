import type { EventAttributes, EventKind } from '../../../shared/command-catalogue.js';
import type { Logger } from '../../../shared/logger.js';
import type { Containers } from '../../workloads/containers.js';
import type { HealthProbe } from '../../workloads/health-checks.js';
import type { ListenPortStore } from '../../workloads/listen-ports.js';
import type { TrafficSwitch } from '../../workloads/traffic-switch.js';

/** What the deployment and runtime handlers use. */
export interface DeploymentDeps {
  /** The engine's Berth containers (Docker in production, an in-memory fake in unit tests). */
  containers: Containers;
  /** Caddy in front of the resource's loopback port; null when the agent has no proxy to program. */
  traffic: TrafficSwitch | null;
  listenPorts: ListenPortStore;
  /** Runs one health check against a published port; the real HTTP/TCP check when absent. */
  probe?: HealthProbe;
  /** Sends an event on the link, or spools it while the link is down. */
  emit<K extends EventKind>(kind: K, attributes: EventAttributes<K>): void;
  log: Logger;
  /** Deployments running in this process, so a cancel can reach them. */
  running: Map<string, AbortController>;
  /** Readies the engine for Berth's containers (its network); called before each deployment. */
  prepare(): Promise<void>;
  /** Notes that a deployment ran from `image`, so a prune knows Berth brought it (none in unit tests). */
  recordImage?(image: string): Promise<void>;
  /** Whether the desired state names this deployment as a resource's runtime (its container then stays). */
  isDesired(deploymentId: string): boolean;
}
