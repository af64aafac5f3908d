import { Migration } from '@mikro-orm/migrations';

export class Migration20261206224303ServerWorkloadRoles extends Migration {
  override async up(): Promise<void> {
    this.addSql('alter table "servers" add column "workload_roles" jsonb not null default \'[]\'');
  }
}
