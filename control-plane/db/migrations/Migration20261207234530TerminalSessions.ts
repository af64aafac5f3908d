import { Migration } from '@mikro-orm/migrations';

/** Terminal sessions: who opened which shell where, and how it ended (never its output). */
export class Migration20261207234530TerminalSessions extends Migration {
  override async up(): Promise<void> {
    this.addSql(
      'create table "terminal_sessions" ("id" varchar(255) not null, "organization_id" varchar(255) not null, "scope" text check ("scope" in (\'server\', \'resource\')) not null, "server_id" varchar(40) not null, "resource_id" varchar(40) null, "deployment_id" varchar(40) null, "opened_by_user_id" varchar(60) not null, "rows" int not null, "cols" int not null, "status" text check ("status" in (\'pending\', \'active\', \'closed\', \'expired\', \'failed\')) not null, "target" varchar(200) null, "working_directory" varchar(200) not null, "created_at" timestamptz not null, "attached_at" timestamptz null, "last_activity_at" timestamptz not null, "closed_at" timestamptz null, "close_reason" varchar(200) null, "exit_code" int null, "bytes_in" bigint not null default 0, "bytes_out" bigint not null default 0, constraint "terminal_sessions_pkey" primary key ("id"))',
    );
    this.addSql(
      'create index "terminal_sessions_organization_id_created_at_index" on "terminal_sessions" ("organization_id", "created_at")',
    );
    this.addSql(
      'alter table "terminal_sessions" add constraint "terminal_sessions_organization_id_foreign" foreign key ("organization_id") references "organizations" ("id") on update cascade on delete cascade',
    );
  }
}
