import { Migration } from '@mikro-orm/migrations';

export class Migration20261206224313FirstAdminIdempotencyKey extends Migration {
  override async up(): Promise<void> {
    this.addSql(
      'alter table "users" add column "bootstrap_idempotency_key" varchar(200) null, add column "bootstrap_request_hash" varchar(64) null',
    );
  }
}
