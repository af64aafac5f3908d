import { Migration } from '@mikro-orm/migrations';

export class Migration20261123172235Deployments extends Migration {
  override async up(): Promise<void> {
    this.addSql(
      'create table "deployments" ("id" varchar(255) not null, "organization_id" varchar(255) not null, "project_id" varchar(255) not null, "environment_id" varchar(255) not null, "resource_id" varchar(255) not null, "server_id" varchar(255) not null, "status" text check ("status" in (\'created\', \'planning\', \'planned\', \'running\', \'cancel-requested\', \'succeeded\', \'failed\', \'canceled\', \'interrupted\', \'rolled-back\')) not null, "trigger_kind" text check ("trigger_kind" in (\'create\', \'retry\', \'redeploy\', \'rollback\')) not null, "source_deployment_id" varchar(255) null, "rollback_of_deployment_id" varchar(255) null, "snapshot" jsonb not null, "sealed_env" text not null, "command_id" varchar(255) null, "cancel_command_id" varchar(255) null, "error_code" varchar(60) null, "error_message" text null, "access_url" varchar(300) null, "container_name" varchar(200) null, "created_at" timestamptz not null, "started_at" timestamptz null, "finished_at" timestamptz null, "canceled_at" timestamptz null, "archived_at" timestamptz null, "deadline_at" timestamptz not null, "updated_at" timestamptz not null, constraint "deployments_pkey" primary key ("id"))',
    );
    this.addSql(
      'create index "deployments_resource_id_created_at_index" on "deployments" ("resource_id", "created_at")',
    );
    this.addSql(
      'create index "deployments_organization_id_created_at_index" on "deployments" ("organization_id", "created_at")',
    );
    this.addSql('create index "deployments_status_index" on "deployments" ("status")');
    this.addSql(
      'create table "deployment_log_lines" ("id" bigserial primary key, "deployment_id" varchar(255) not null, "timestamp" timestamptz not null, "source" varchar(40) not null, "phase" varchar(40) not null, "level" varchar(10) not null, "message" text not null, "masked" boolean not null)',
    );
    this.addSql(
      'create index "deployment_log_lines_deployment_id_id_index" on "deployment_log_lines" ("deployment_id", "id")',
    );
    this.addSql(
      'create table "deployment_events" ("id" bigserial primary key, "deployment_id" varchar(255) not null, "sequence" int not null, "event_type" varchar(80) not null, "source" varchar(40) not null, "phase" varchar(40) not null, "status" varchar(40) not null, "retriable" boolean not null, "summary" text not null, "emitted_at" timestamptz not null)',
    );
    this.addSql(
      'alter table "deployment_events" add constraint "deployment_events_deployment_id_sequence_unique" unique ("deployment_id", "sequence")',
    );
    this.addSql(
      'alter table "deployments" add constraint "deployments_organization_id_foreign" foreign key ("organization_id") references "organizations" ("id") on update cascade on delete cascade',
    );
    this.addSql(
      'alter table "deployments" add constraint "deployments_project_id_foreign" foreign key ("project_id") references "projects" ("id") on update cascade on delete cascade',
    );
    this.addSql(
      'alter table "deployments" add constraint "deployments_environment_id_foreign" foreign key ("environment_id") references "environments" ("id") on update cascade on delete cascade',
    );
    this.addSql(
      'alter table "deployments" add constraint "deployments_resource_id_foreign" foreign key ("resource_id") references "resources" ("id") on update cascade on delete cascade',
    );
    this.addSql(
      'alter table "deployments" add constraint "deployments_server_id_foreign" foreign key ("server_id") references "servers" ("id") on update cascade on delete cascade',
    );
    this.addSql(
      'alter table "deployment_log_lines" add constraint "deployment_log_lines_deployment_id_foreign" foreign key ("deployment_id") references "deployments" ("id") on update cascade on delete cascade',
    );
    this.addSql(
      'alter table "deployment_events" add constraint "deployment_events_deployment_id_foreign" foreign key ("deployment_id") references "deployments" ("id") on update cascade on delete cascade',
    );
  }
}
