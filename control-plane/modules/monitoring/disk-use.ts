import type { EntityManager } from '@mikro-orm/postgresql';

/** The use percent of the fullest disk in the server's newest host sample. */
export async function fullestDiskPercent(em: EntityManager, serverId: string): Promise<number | null> {
  const rows = await em
    .getConnection()
    .execute<Array<{ disks: Array<{ totalBytes?: number; usedBytes?: number; availableBytes?: number }> | null }>>(
      `select "disks" from "monitoring_samples" where "server_id" = ? and "kind" = 'host' order by "observed_at" desc limit 1`,
      [serverId],
    );
  const disks = rows[0]?.disks ?? [];
  let fullest: number | null = null;
  for (const d of disks) {
    const used = Number(d.usedBytes ?? 0);
    const avail = Number(d.availableBytes ?? 0);
    if (used + avail <= 0) continue;
    fullest = Math.max(fullest ?? 0, (used / (used + avail)) * 100);
  }
  return fullest;
}
