import { expect } from 'vitest';
import type { TestApp } from './build-test-app.js';

/** A resource's place: its project and environment, created for it. */
export type WebResource = {
  projectId: string;
  environmentId: string;
  resourceId: string;
};

/**
 * A fresh project `projectName` with a production environment and a resource `web` of image `berth-test/web:1` on
 * container port 8080, through the API: what route tests need a resource for, without deploying it.
 */
export async function createWebResource(t: TestApp, token: string, projectName: string): Promise<WebResource> {
  const post = (url: string, json: unknown) => t.request({ method: 'POST', url, token, json });
  const project = await post('/projects', { name: projectName });
  expect(project.statusCode, project.body).toBe(201);
  const projectId: string = project.json().id;
  const environment = await post('/environments', { projectId, name: 'production', kind: 'production' });
  expect(environment.statusCode, environment.body).toBe(201);
  const environmentId: string = environment.json().id;
  const res = await post('/resources', {
    projectId,
    environmentId,
    name: 'web',
    source: { kind: 'docker-image', locator: 'berth-test/web:1' },
    networkProfile: { internalPort: 8080 },
  });
  expect(res.statusCode, res.body).toBe(201);
  return { projectId, environmentId, resourceId: res.json().id };
}
