import { Migration } from '@mikro-orm/migrations';

/** Monitoring samples from the agents' telemetry streams, their cursors, retention defaults and thresholds. */
export class Migration20261207201609MonitoringSamples extends Migration {
  override async up(): Promise<void> {
    this.addSql(
      'create table "monitoring_samples" ("id" bigserial primary key, "server_id" varchar(40) not null, "kind" text check ("kind" in (\'host\', \'container\')) not null, "observed_at" timestamptz not null, "collected_at" timestamptz not null, "project_id" varchar(40) null, "environment_id" varchar(40) null, "resource_id" varchar(40) null, "deployment_id" varchar(40) null, "runtime_id" varchar(80) null, "logical_cores" int null, "load_average1m" double precision null, "load_average5m" double precision null, "load_average15m" double precision null, "cpu_percent" double precision null, "container_cpu_percent" double precision null, "memory_total_bytes" bigint null, "memory_used_bytes" bigint null, "memory_available_bytes" bigint null, "container_memory_bytes" bigint null, "disk_total_bytes" bigint null, "disk_used_bytes" bigint null, "disk_available_bytes" bigint null, "disk_attributed_bytes" bigint null, "inode_total" bigint null, "inode_used" bigint null, "inode_available" bigint null, "docker_image_bytes" bigint null, "docker_build_cache_bytes" bigint null, "docker_writable_bytes" bigint null, "network_rx_bytes" bigint null, "network_tx_bytes" bigint null, "disks" jsonb null)',
    );
    this.addSql(
      'create index "monitoring_samples_server_id_observed_at_index" on "monitoring_samples" ("server_id", "observed_at")',
    );
    this.addSql(
      'create index "monitoring_samples_resource_id_observed_at_index" on "monitoring_samples" ("resource_id", "observed_at")',
    );
    this.addSql(
      'create index "monitoring_samples_environment_id_observed_at_index" on "monitoring_samples" ("environment_id", "observed_at")',
    );
    this.addSql(
      'create index "monitoring_samples_observed_at_brin" on "monitoring_samples" using brin ("observed_at")',
    );
    this.addSql(
      'create table "retention_defaults" ("id" varchar(255) not null, "organization_id" varchar(255) null, "scope" varchar(40) not null, "category" varchar(60) not null, "retention_days" int not null, "dry_run_scheduling_enabled" boolean not null, "destructive_scheduling_enabled" boolean not null, "enabled" boolean not null, "updated_at" timestamptz not null, "updated_by_actor_id" varchar(60) null, "updated_by_actor_kind" varchar(40) not null, constraint "retention_defaults_pkey" primary key ("id"))',
    );
    this.addSql(
      'alter table "retention_defaults" add constraint "retention_defaults_organization_id_scope_category_unique" unique nulls not distinct ("organization_id", "scope", "category")',
    );
    this.addSql(
      'create table "telemetry_cursors" ("server_id" varchar(40) not null, "channel" varchar(20) not null, "spool_id" varchar(64) not null, "last_batch_seq" bigint not null, "dropped_batches" bigint not null, "last_drop_at" timestamptz null, "newest_observed_at" timestamptz null, "received_at" timestamptz not null, constraint "telemetry_cursors_pkey" primary key ("server_id", "channel"))',
    );
    this.addSql(
      'create table "monitoring_threshold_policies" ("id" varchar(255) not null, "organization_id" varchar(255) not null, "scope_kind" varchar(20) not null, "scope_id" varchar(40) not null, "server_id" varchar(40) null, "scope" jsonb not null, "rules" jsonb not null, "enabled" boolean not null, "evaluation" jsonb null, "updated_at" timestamptz not null, "updated_by_actor_id" varchar(60) null, "updated_by_actor_kind" varchar(40) not null, constraint "monitoring_threshold_policies_pkey" primary key ("id"))',
    );
    this.addSql(
      'create index "monitoring_threshold_policies_server_id_index" on "monitoring_threshold_policies" ("server_id")',
    );
    this.addSql(
      'alter table "monitoring_threshold_policies" add constraint "monitoring_threshold_policies_organization_id_sco_dfedc_unique" unique ("organization_id", "scope_kind", "scope_id")',
    );
    this.addSql(
      'alter table "retention_defaults" add constraint "retention_defaults_organization_id_foreign" foreign key ("organization_id") references "organizations" ("id") on update cascade on delete cascade',
    );
    this.addSql(
      'alter table "monitoring_threshold_policies" add constraint "monitoring_threshold_policies_organization_id_foreign" foreign key ("organization_id") references "organizations" ("id") on update cascade on delete cascade',
    );
  }
}
