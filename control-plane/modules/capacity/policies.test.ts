import { create } from '@bufbuild/protobuf';
import { describe, expect, it } from 'vitest';
import { TelemetryBatchSchema } from '../../../shared/gen/berth/agent/v1/agent_pb.js';
import type { PrunePolicy } from './entity.js';
import { fullestDiskPercent, governingPolicy } from './policies.js';

describe('capacity policies', () => {
  it("reads the fullest disk of a batch's newest host sample", () => {
    const disk = (used: bigint, available: bigint) => ({ mount: '/', usedBytes: used, availableBytes: available });
    const batch = create(TelemetryBatchSchema, {
      hosts: [{ disks: [disk(99n, 1n)] }, { disks: [disk(50n, 50n), disk(93n, 7n)] }],
    });
    expect(fullestDiskPercent(batch)).toBe(93);
    expect(fullestDiskPercent(create(TelemetryBatchSchema, {}))).toBeNull();
  });

  it("picks the server's own policy first, then the most specific organization-wide scope", () => {
    const policy = (id: string, scope: PrunePolicy['scope'], serverId: string | null, enabled = true) =>
      ({ id, scope, serverId, enabled }) as PrunePolicy;
    const policies = [
      policy('defaults', 'defaults', null),
      policy('organization', 'organization', null),
      policy('other-server', 'defaults', 'srv-2'),
    ];
    expect(governingPolicy(policies, 'srv-1')?.id).toBe('organization');
    expect(governingPolicy([...policies, policy('own', 'defaults', 'srv-1')], 'srv-1')?.id).toBe('own');
    expect(governingPolicy([policy('off', 'defaults', 'srv-1', false)], 'srv-1')).toBeUndefined();
  });
});
