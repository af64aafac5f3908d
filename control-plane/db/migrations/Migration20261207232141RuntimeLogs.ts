import { Migration } from '@mikro-orm/migrations';

/** Runtime log lines (masked, cursor = id) and their archives. */
export class Migration20261207232141RuntimeLogs extends Migration {
  override async up(): Promise<void> {
    this.addSql(
      'create table "runtime_log_archives" ("id" varchar(255) not null, "organization_id" varchar(255) not null, "resource_id" varchar(40) not null, "deployment_id" varchar(40) not null, "server_id" varchar(40) not null, "service_name" varchar(100) not null, "captured_at" timestamptz not null, "reason" varchar(200) not null, "line_count" int not null, "lines" jsonb not null, constraint "runtime_log_archives_pkey" primary key ("id"))',
    );
    this.addSql(
      'create index "runtime_log_archives_organization_id_captured_at_index" on "runtime_log_archives" ("organization_id", "captured_at")',
    );
    this.addSql(
      'create table "runtime_log_lines" ("id" bigserial primary key, "organization_id" varchar(40) not null, "server_id" varchar(40) not null, "resource_id" varchar(40) not null, "deployment_id" varchar(40) not null, "service_name" varchar(100) not null, "container_id" varchar(80) not null, "stream" varchar(10) not null, "observed_at" timestamptz not null, "received_at" timestamptz not null, "sequence" bigint not null, "message" text not null, "masked" boolean not null)',
    );
    this.addSql('create index "runtime_log_lines_resource_id_id_index" on "runtime_log_lines" ("resource_id", "id")');
    this.addSql(
      'create index "runtime_log_lines_deployment_id_id_index" on "runtime_log_lines" ("deployment_id", "id")',
    );
    this.addSql('create index "runtime_log_lines_observed_at_brin" on "runtime_log_lines" using brin ("observed_at")');
    this.addSql(
      'alter table "runtime_log_archives" add constraint "runtime_log_archives_organization_id_foreign" foreign key ("organization_id") references "organizations" ("id") on update cascade on delete cascade',
    );
  }
}
