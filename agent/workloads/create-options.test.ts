import { describe, expect, it } from 'vitest';
import { httpHealth, testRuntimeSpec } from '../../test/helpers/images.js';
import { containerCreateOptions, publishedPorts } from './create-options.js';
import { containerName } from './spec.js';

describe('containerCreateOptions', () => {
  it('names the container after the slug and the last 8 characters of the deployment id, cleaning both', () => {
    expect(containerName({ resourceSlug: 'shop front', deploymentId: 'dep-0123456789abcdef' })).toBe(
      'berth-shop-front-89abcdef',
    );
  });

  it("keeps the image's ENTRYPOINT and CMD when the spec sets neither", () => {
    const options = containerCreateOptions(testRuntimeSpec('busybox:1.36'));

    expect(options).not.toHaveProperty('Entrypoint');
    expect(options).not.toHaveProperty('Cmd');
  });

  it('replaces ENTRYPOINT with command and CMD with arguments', () => {
    const options = containerCreateOptions(
      testRuntimeSpec('busybox:1.36', { command: ['/app/server'], arguments: ['--port', '8080'] }),
    );

    expect(options).toMatchObject({ Entrypoint: ['/app/server'], Cmd: ['--port', '8080'] });
  });

  it('runs startCommand through /bin/sh -c with an empty ENTRYPOINT, over command and arguments', () => {
    const options = containerCreateOptions(
      testRuntimeSpec('busybox:1.36', { startCommand: 'npm start', command: ['/x'], arguments: ['y'] }),
    );

    expect(options).toMatchObject({ Entrypoint: [], Cmd: ['/bin/sh', '-c', 'npm start'] });
  });

  it('publishes no port when neither the spec nor the health check names one', () => {
    const spec = testRuntimeSpec('busybox:1.36', { internalPort: null, health: httpHealth({ enabled: false }) });

    expect(publishedPorts(spec)).toEqual([]);
    expect(containerCreateOptions(spec).HostConfig?.PortBindings).toEqual({});
  });

  it('publishes the health check port once when it equals the internal port', () => {
    const health = httpHealth({ http: { ...httpHealth().http!, port: 8080 } });

    expect(publishedPorts(testRuntimeSpec('busybox:1.36', { health }))).toEqual([8080]);
  });

  it('gives restart policies other than on-failure no retry count, and joins the given network', () => {
    const options = containerCreateOptions(testRuntimeSpec('busybox:1.36', { restartPolicy: 'unless-stopped' }), {
      network: 'berth',
    });

    expect(options.HostConfig).toMatchObject({
      RestartPolicy: { Name: 'unless-stopped', MaximumRetryCount: 0 },
      NetworkMode: 'berth',
    });
    expect(options.HostConfig).not.toHaveProperty('NanoCpus');
    expect(options.HostConfig).not.toHaveProperty('Memory');
  });
});
