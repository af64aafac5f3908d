import type { ContainerInfo } from '../../workloads/containers.js';
import { verifyHealth } from '../../workloads/verify.js';
import type { DeploymentFailure, DeploymentRun } from './run.js';

/**
 * Verifies the new container against the spec's health policy, reporting each check and streaming its output to the
 * deployment log. A container that fails (`unhealthy`, `exited`, `canceled`) is removed: the failure says whether the
 * previous version keeps serving. Null when it is healthy.
 */
export async function verifyContainer(run: DeploymentRun, container: ContainerInfo): Promise<DeploymentFailure | null> {
  const { deps, spec, report } = run;
  const verdict = await verifyHealth({
    containers: deps.containers,
    container,
    health: spec.health,
    internalPort: spec.internalPort,
    signal: run.signal,
    probe: deps.probe,
    onAttempt: (a) =>
      report.progress(
        a.ok ? 'health-check-passed' : 'health-check-attempt',
        'verify',
        `Check ${a.attempt}: ${a.detail}`,
      ),
    onLog: (l) => report.log('verify', l.line, l.stream === 'stderr' ? 'warn' : 'info', 'application', l.at),
  });
  if (verdict.healthy) {
    report.progress(
      'verification-succeeded',
      'verify',
      `Healthy after ${verdict.attempts} check(s) in ${verdict.durationMs} ms.`,
    );
    return null;
  }
  await deps.containers.remove(container.id).catch(() => undefined);
  const previous = (await deps.containers.listResourceContainers(spec.resourceId)).some(
    (c) => c.running && c.deploymentId !== spec.deploymentId,
  );
  const keep = previous ? ' The previous version keeps serving.' : '';
  report.log('verify', verdict.reason, 'error');
  const what = verdict.code === 'canceled' ? 'Canceled during verification' : verdict.reason;
  return {
    succeeded: false,
    errorCode: verdict.code,
    errorMessage: `${what}; the new container was removed.${keep}`,
  };
}
