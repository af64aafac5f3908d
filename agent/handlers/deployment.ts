/**
 * The `deployment.apply` and `deployment.cancel` handlers. A deployment runs as named steps, one file each under
 * deployment/: announce and prepare the image, start the container, verify it, switch traffic, retire the previous
 * containers; apply.ts composes them.
 */
export { applyDeployment } from './deployment/apply.js';
export { cancelDeployment } from './deployment/cancel.js';
export type { DeploymentDeps } from './deployment/deps.js';
