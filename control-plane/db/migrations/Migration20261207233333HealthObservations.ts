import { Migration } from '@mikro-orm/migrations';

/** Health observations of resources (the health history). */
export class Migration20261207233333HealthObservations extends Migration {
  override async up(): Promise<void> {
    this.addSql(
      'create table "health_observations" ("id" bigserial primary key, "organization_id" varchar(40) not null, "resource_id" varchar(40) not null, "observed_at" timestamptz not null, "overall" varchar(20) not null, "runtime_lifecycle" varchar(20) not null, "runtime_health" varchar(20) not null, "public_access_status" varchar(20) not null, "proxy_status" varchar(20) not null, "health_policy_status" varchar(20) not null, "latest_deployment_id" varchar(40) null, "summary" jsonb not null)',
    );
    this.addSql(
      'create index "health_observations_resource_id_observed_at_index" on "health_observations" ("resource_id", "observed_at")',
    );
  }
}
