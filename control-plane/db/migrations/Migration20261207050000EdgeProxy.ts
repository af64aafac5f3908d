import { Migration } from '@mikro-orm/migrations';

export class Migration20261207050000EdgeProxy extends Migration {
  override async up(): Promise<void> {
    this.addSql(`alter table "servers"
      add column "edge_status" text check ("edge_status" in ('pending', 'starting', 'ready', 'failed', 'disabled')) null,
      add column "edge_last_attempt_at" timestamptz null,
      add column "edge_last_succeeded_at" timestamptz null,
      add column "edge_last_error_code" varchar(60) null,
      add column "edge_last_error_message" varchar(1000) null,
      add column "edge_observed_at" timestamptz null,
      add column "edge_document_version" int not null default 0,
      add column "edge_document_hash" varchar(64) null,
      add column "edge_applied_version" int not null default 0,
      add column "edge_http_port" int null,
      add column "edge_https_port" int null`);
  }
}
